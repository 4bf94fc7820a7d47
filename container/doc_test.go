// Package container_test checks the container image that the repository's
// Dockerfile describes. Docker Hub is out of reach of the machines that run
// these tests, so the image is assembled here without a daemon, with
// go-containerregistry: the final stage of the Dockerfile is read, the
// binary is built as its build stage builds it, and the layers and config
// are put together as the stage says, into an OCI image layout. The test
// then reads the image back, checks its config, and runs its entrypoint from
// its own layer, chrooted into that layer as the image's user, as a runtime
// would, and asks its HEALTHCHECK.
package container_test
