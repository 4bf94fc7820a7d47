package container_test

import (
	"archive/tar"
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

// stage is what the Dockerfile's final stage declares.
type stage struct {
	from        string
	labels      map[string]string
	env         []string
	user        string
	volumes     []string
	ports       []string
	entrypoint  []string
	cmd         []string
	healthcheck []string
	copies      []string // destinations of COPY
}

// readDockerfile parses the final stage of path: continuation lines joined,
// comments dropped, ARG defaults substituted into LABEL values. ENTRYPOINT,
// CMD and HEALTHCHECK must be in exec form (JSON arrays), since the image
// has no shell.
func readDockerfile(t *testing.T, path string) stage {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	var cur strings.Builder
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		l := strings.TrimSpace(sc.Text())
		if strings.HasPrefix(l, "#") || (l == "" && cur.Len() == 0) {
			continue
		}
		if s, ok := strings.CutSuffix(l, "\\"); ok {
			cur.WriteString(s + " ")
			continue
		}
		cur.WriteString(l)
		lines = append(lines, cur.String())
		cur.Reset()
	}
	var st stage
	args := map[string]string{}
	exec := func(instr, rest string) []string {
		var v []string
		if err := json.Unmarshal([]byte(rest), &v); err != nil {
			t.Fatalf("%s %s: not in exec form (the image has no shell): %v", instr, rest, err)
		}
		return v
	}
	for _, l := range lines {
		instr, rest, _ := strings.Cut(l, " ")
		rest = strings.TrimSpace(rest)
		switch strings.ToUpper(instr) {
		case "FROM":
			st = stage{from: strings.Fields(rest)[0], labels: map[string]string{}}
			args = map[string]string{}
		case "ARG":
			k, v, _ := strings.Cut(rest, "=")
			args[k] = v
		case "LABEL", "ENV":
			for _, kv := range splitPairs(t, rest) {
				k, v, _ := strings.Cut(kv, "=")
				if instr == "LABEL" {
					st.labels[k] = os.Expand(v, func(a string) string { return args[a] })
				} else {
					st.env = append(st.env, k+"="+v)
				}
			}
		case "USER":
			st.user = rest
		case "VOLUME":
			st.volumes = append(st.volumes, strings.Fields(rest)...)
		case "EXPOSE":
			st.ports = append(st.ports, strings.Fields(rest)...)
		case "ENTRYPOINT":
			st.entrypoint = exec(instr, rest)
		case "CMD":
			st.cmd = exec(instr, rest)
		case "HEALTHCHECK":
			_, c, ok := strings.Cut(rest, "CMD ")
			if !ok {
				t.Fatalf("HEALTHCHECK without CMD: %s", rest)
			}
			st.healthcheck = exec(instr, c)
		case "COPY":
			f := strings.Fields(rest)
			st.copies = append(st.copies, f[len(f)-1])
		}
	}
	return st
}

// splitPairs splits `k="v w" k2=v2` into ["k=v w", "k2=v2"].
func splitPairs(t *testing.T, s string) []string {
	var out []string
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		k, rest, ok := strings.Cut(s, "=")
		if !ok {
			t.Fatalf("not key=value: %q", s)
		}
		if strings.HasPrefix(rest, `"`) {
			end := strings.Index(rest[1:], `"`)
			if end < 0 {
				t.Fatalf("unterminated quote: %q", s)
			}
			out = append(out, k+"="+rest[1:end+1])
			s = rest[end+2:]
			continue
		}
		v, after, _ := strings.Cut(rest, " ")
		out = append(out, k+"="+v)
		s = after
	}
	return out
}

// TestDockerfileImage builds the image of ../Dockerfile without a daemon,
// checks its config, and runs it.
func TestDockerfileImage(t *testing.T) {
	st := readDockerfile(t, "../Dockerfile")

	// What the Dockerfile promises.
	if st.from != "scratch" {
		t.Errorf("final stage FROM %s, want scratch", st.from)
	}
	uid, gid, ok := strings.Cut(st.user, ":")
	if n, err := strconv.Atoi(uid); err != nil || n == 0 || !ok {
		t.Errorf("USER %q: want a numeric non-root uid:gid", st.user)
	}
	if !slices.Contains(st.volumes, "/data") || !slices.Contains(st.ports, "8080") {
		t.Errorf("VOLUME %q, EXPOSE %q: want /data and 8080", st.volumes, st.ports)
	}
	if !slices.Contains(st.env, "AUTHSTORE_DB=/data/authstore.db") {
		t.Errorf("ENV %q: want AUTHSTORE_DB=/data/authstore.db", st.env)
	}
	for _, want := range []string{"/authstore", "/tmp", "/data", "/etc/ssl/certs/ca-certificates.crt"} {
		if !slices.Contains(st.copies, want) {
			t.Errorf("the final stage does not COPY %s", want)
		}
	}
	for _, k := range []string{"org.opencontainers.image.title", "org.opencontainers.image.version", "org.opencontainers.image.revision", "org.opencontainers.image.licenses"} {
		if st.labels[k] == "" {
			t.Errorf("no label %s", k)
		}
	}
	if len(st.healthcheck) < 2 || st.healthcheck[0] != st.entrypoint[0] || st.healthcheck[1] != "healthcheck" {
		t.Errorf("HEALTHCHECK %q: want the binary's own healthcheck command", st.healthcheck)
	}

	// The build stage's binary, static as there, less -trimpath, which
	// would recompile every package instead of reusing the build cache of
	// the other tests.
	dir := t.TempDir()
	bin := filepath.Join(dir, "authstore")
	start := time.Now()
	build := exec.Command("go", "build", "-buildvcs=false", "-ldflags", "-s -w", "-o", bin, "./cmd/authstore")
	build.Dir = ".."
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("static binary built in %v", time.Since(start).Round(time.Millisecond))

	// The final stage: one layer with what it copies, and its config.
	layer := rootfsLayer(t, bin, uid, gid)
	img, err := mutate.AppendLayers(empty.Image, layer)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", runtime.GOARCH
	cf.Config = v1.Config{
		Entrypoint:   st.entrypoint,
		Cmd:          st.cmd,
		Env:          st.env,
		User:         st.user,
		Labels:       st.labels,
		Volumes:      map[string]struct{}{},
		ExposedPorts: map[string]struct{}{},
		Healthcheck:  &v1.HealthConfig{Test: append([]string{"CMD"}, st.healthcheck...)},
	}
	for _, v := range st.volumes {
		cf.Config.Volumes[v] = struct{}{}
	}
	for _, p := range st.ports {
		cf.Config.ExposedPorts[p+"/tcp"] = struct{}{}
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		t.Fatal(err)
	}
	ociDir := filepath.Join(dir, "oci")
	lp, err := layout.Write(ociDir, empty.Index)
	if err != nil {
		t.Fatal(err)
	}
	if err := lp.AppendImage(img); err != nil {
		t.Fatal(err)
	}

	// Read back from the layout, as a runtime would.
	idx, err := layout.ImageIndexFromPath(ociDir)
	if err != nil {
		t.Fatal(err)
	}
	im, err := idx.IndexManifest()
	if err != nil || len(im.Manifests) != 1 {
		t.Fatalf("index: %v, %d manifests", err, len(im.Manifests))
	}
	got, err := idx.Image(im.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	gcf, err := got.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	c := gcf.Config
	if c.User != st.user || !slices.Equal(c.Entrypoint, []string{"/authstore"}) || !slices.Equal(c.Cmd, []string{"serve"}) {
		t.Errorf("config user %q entrypoint %q cmd %q", c.User, c.Entrypoint, c.Cmd)
	}
	if _, ok := c.Volumes["/data"]; !ok {
		t.Errorf("config volumes %v", c.Volumes)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("config exposed ports %v", c.ExposedPorts)
	}
	if c.Labels["org.opencontainers.image.title"] != "authstore" {
		t.Errorf("config labels %v", c.Labels)
	}
	size, _ := layer.Size()
	t.Logf("image %s: one layer of %.1f MiB compressed, in %s", im.Manifests[0].Digest, float64(size)/(1<<20), ociDir)

	// Run it: the layer unpacked as the root, the entrypoint chrooted there
	// as the image's user, with the image's env (the address made a free
	// loopback port, the only change, so parallel runs do not collide).
	if os.Geteuid() != 0 {
		t.Skip("running the image needs root (chroot and setuid); its config was checked")
	}
	rootfs := filepath.Join(dir, "rootfs")
	unpack(t, got, rootfs)
	addr := freeAddr(t)
	env := append(slices.Clone(c.Env), "AUTHSTORE_ADDR="+addr, "AUTHSTORE_LOG_LEVEL=warn")
	run := func(args []string) *exec.Cmd {
		cmd := exec.Command(args[0], args[1:]...)
		// Path is looked up after the chroot, inside the image.
		cmd.Env = env
		cmd.Dir = "/"
		u, _ := strconv.Atoi(uid)
		g, _ := strconv.Atoi(gid)
		cmd.SysProcAttr = &syscall.SysProcAttr{Chroot: rootfs, Credential: &syscall.Credential{Uid: uint32(u), Gid: uint32(g)}}
		return cmd
	}
	health := func() error {
		out, err := run(c.Healthcheck.Test[1:]).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%v: %s", err, out)
		}
		return nil
	}
	if err := health(); err == nil {
		t.Fatal("the healthcheck passed with no server running")
	}
	srv := run(append(slices.Clone(c.Entrypoint), c.Cmd...))
	var logs bytes.Buffer
	srv.Stdout, srv.Stderr = &logs, &logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		srv.Process.Signal(syscall.SIGTERM)
		srv.Wait()
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		err := health()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the image's HEALTHCHECK never passed: %v\nserver output:\n%s", err, logs.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	// The database is in the volume, owned by the image's user.
	fi, err := os.Stat(filepath.Join(rootfs, "data", "authstore.db"))
	if err != nil {
		t.Fatalf("no database in /data: %v", err)
	}
	if owner := fi.Sys().(*syscall.Stat_t).Uid; strconv.Itoa(int(owner)) != uid {
		t.Errorf("/data/authstore.db owned by %d, want %s", owner, uid)
	}
}

// rootfsLayer is the final stage's one layer: the binary, the CA bundle of
// this machine, /tmp (1777) and /data (owned by uid:gid).
func rootfsLayer(t *testing.T, bin, uid, gid string) v1.Layer {
	t.Helper()
	u, _ := strconv.Atoi(uid)
	g, _ := strconv.Atoi(gid)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	dirEntry := func(name string, mode int64, uid, gid int) {
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, Uid: uid, Gid: gid, ModTime: time.Unix(0, 0)})
	}
	file := func(name, src string, mode int64) {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: mode, Size: int64(len(b)), ModTime: time.Unix(0, 0)})
		tw.Write(b)
	}
	dirEntry("etc/", 0o755, 0, 0)
	dirEntry("etc/ssl/", 0o755, 0, 0)
	dirEntry("etc/ssl/certs/", 0o755, 0, 0)
	if _, err := os.Stat("/etc/ssl/certs/ca-certificates.crt"); err == nil {
		file("etc/ssl/certs/ca-certificates.crt", "/etc/ssl/certs/ca-certificates.crt", 0o644)
	}
	dirEntry("tmp/", 0o1777, 0, 0)
	dirEntry("data/", 0o755, u, g)
	file("authstore", bin, 0o755)
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	data := buf.Bytes()
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(data)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return layer
}

// unpack writes the files of img's flattened filesystem under dir, with
// their modes and owners.
func unpack(t *testing.T, img v1.Image, dir string) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.Clean("/"+h.Name))
		mode := os.FileMode(h.Mode).Perm()
		if h.Mode&0o1000 != 0 {
			mode |= os.ModeSticky
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case tar.TypeReg:
			os.MkdirAll(filepath.Dir(p), 0o755)
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.Copy(f, tr); err != nil {
				t.Fatal(err)
			}
			f.Close()
		default:
			continue
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		if os.Geteuid() == 0 {
			os.Lchown(p, h.Uid, h.Gid)
		}
	}
}

// freeAddr returns a loopback address with a port free at the time of the
// call.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}
