package container_test

import (
	"os"
	"strings"
	"testing"

	"go.yaml.in/yaml/v4"
)

// TestComposeFile checks compose.yaml, which no tool here can run: it is
// valid YAML (anchors and merge keys resolved), every authstore service
// builds the Dockerfile and shares one PostgreSQL database, secret key and
// issuer, and waits for PostgreSQL to be healthy.
func TestComposeFile(t *testing.T) {
	b, err := os.ReadFile("../compose.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var f struct {
		Services map[string]struct {
			Build       string            `yaml:"build"`
			Image       string            `yaml:"image"`
			Environment map[string]string `yaml:"environment"`
			Ports       []string          `yaml:"ports"`
			DependsOn   map[string]struct {
				Condition string `yaml:"condition"`
			} `yaml:"depends_on"`
			Healthcheck struct {
				Test []string `yaml:"test"`
			} `yaml:"healthcheck"`
		} `yaml:"services"`
	}
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	pg, ok := f.Services["postgres"]
	if !ok || len(pg.Healthcheck.Test) == 0 {
		t.Fatalf("no postgres service with a healthcheck: %+v", f.Services)
	}
	var instances int
	shared := map[string]string{}
	for name, s := range f.Services {
		if !strings.HasPrefix(name, "authstore") {
			continue
		}
		instances++
		if s.Build != "." || len(s.Ports) != 1 {
			t.Errorf("%s: build %q ports %q", name, s.Build, s.Ports)
		}
		if s.DependsOn["postgres"].Condition != "service_healthy" {
			t.Errorf("%s does not wait for a healthy postgres", name)
		}
		if !strings.HasPrefix(s.Environment["AUTHSTORE_DB"], "postgres://") || !strings.Contains(s.Environment["AUTHSTORE_DB"], "@postgres:5432/") {
			t.Errorf("%s: AUTHSTORE_DB %q is not the postgres service", name, s.Environment["AUTHSTORE_DB"])
		}
		for _, k := range []string{"AUTHSTORE_DB", "AUTHSTORE_SECRET_KEY", "AUTHSTORE_ISSUER"} {
			v := s.Environment[k]
			if v == "" {
				t.Errorf("%s: no %s", name, k)
			}
			if prev, seen := shared[k]; seen && prev != v {
				t.Errorf("%s: %s differs between instances", name, k)
			}
			shared[k] = v
		}
	}
	if instances < 2 {
		t.Errorf("%d authstore instances, want at least 2", instances)
	}
}
