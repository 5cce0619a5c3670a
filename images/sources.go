package images

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"github.com/containerd/containerd/v2/core/content"
	"github.com/containerd/containerd/v2/core/remotes/docker"
	"github.com/containerd/containerd/v2/pkg/namespaces"
	"github.com/containerd/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/ctr-enter/ctr-enter/runtimes"
)

// pull tries each source in turn (or opts.From only) and caches the image
// from the first that has it. Called with the cache locked.
func (s *store) pull(ctx context.Context, opts Options, name string) (*Image, error) {
	p := newProgress(opts.Progress)
	defer p.finish()
	sources := Sources
	if opts.From != "" {
		sources = []string{opts.From}
	}
	var errs []error
	for _, src := range sources {
		var img *Image
		var err error
		switch src {
		case SourceContainerd:
			img, err = s.fromContainerd(ctx, opts, name, p)
		case SourceDocker:
			img, err = s.fromDocker(ctx, opts, name, p)
		case SourceRegistry:
			img, err = s.fromRegistry(ctx, opts, name, p)
		}
		if err == nil {
			return img, nil
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	return nil, &pullError{name, errs}
}

// pullError says what each source answered. Its class is the last one's:
// the registry's, unless a source was forced, because the node's runtimes
// not having an image is the normal case.
type pullError struct {
	name string
	errs []error
}

func (e *pullError) Error() string {
	msgs := make([]string, len(e.errs))
	for i, err := range e.errs {
		msgs[i] = err.Error()
	}
	msg := strings.Join(msgs, "; ")
	if last, ok := e.Unwrap().(*sourceError); ok {
		msg = last.class.Error() + ": " + msg
	}
	return fmt.Sprintf("pull %s: %s", e.name, msg)
}

func (e *pullError) Unwrap() error { return e.errs[len(e.errs)-1] }

// sourceError is one source's failure: the message says what happened
// there, the class (ErrNotFound, ErrUnavailable) is for errors.Is and is
// said once, by pullError.
type sourceError struct{ class, err error }

func classed(class error, format string, args ...any) error {
	return &sourceError{class, fmt.Errorf(format, args...)}
}

func (e *sourceError) Error() string   { return e.err.Error() }
func (e *sourceError) Unwrap() []error { return []error{e.class, e.err} }

// bounded bounds a lookup by the runtimes' timeout, when there is one.
func bounded(ctx context.Context, opts Options) (context.Context, context.CancelFunc) {
	if opts.Runtimes.Timeout > 0 {
		return context.WithTimeout(ctx, opts.Runtimes.Timeout)
	}
	return context.WithCancel(ctx)
}

// fromContainerd copies the image from containerd's content store, from
// the first namespace that has it whole: an image on the node needs no
// registry.
func (s *store) fromContainerd(ctx context.Context, opts Options, name string, p *progress) (*Image, error) {
	cl, err := runtimes.NewContainerdClient(opts.Runtimes)
	if err != nil {
		return nil, classed(ErrUnavailable, "%w", err)
	}
	defer cl.Close()
	nss := []string{opts.Runtimes.ContainerdNamespace}
	if nss[0] == "" {
		lctx, cancel := bounded(ctx, opts)
		nss, err = cl.NamespaceService().List(lctx)
		cancel()
		if err != nil {
			return nil, classed(ErrUnavailable, "containerd: list namespaces: %w", err)
		}
	}
	var errs []error
	for _, ns := range nss {
		nsctx := namespaces.WithNamespace(ctx, ns)
		lctx, cancel := bounded(nsctx, opts)
		img, err := cl.ImageService().Get(lctx, name)
		cancel()
		if errdefs.IsNotFound(err) {
			continue
		}
		if err != nil {
			return nil, classed(ErrUnavailable, "containerd: %w", err)
		}
		p.printf("pulling %s from containerd namespace %s", name, ns)
		m, err := s.fetch(nsctx, providerFetcher{cl.ContentStore()}, img.Target, p)
		if err != nil {
			// Its content may be incomplete (CRI discards layers
			// once unpacked): another namespace or source may do.
			errs = append(errs, fmt.Errorf("containerd: namespace %s: %w", ns, err))
			continue
		}
		return s.commit(ctx, name, m, SourceContainerd, p)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return nil, classed(ErrNotFound, "containerd: not in namespaces %s", strings.Join(nss, ", "))
}

// providerFetcher reads blobs from a content store, containerd's here.
type providerFetcher struct{ p content.Provider }

func (f providerFetcher) Fetch(ctx context.Context, desc ocispec.Descriptor) (io.ReadCloser, error) {
	ra, err := f.p.ReaderAt(ctx, desc)
	if err != nil {
		return nil, err
	}
	return struct {
		io.Reader
		io.Closer
	}{content.NewReader(ra), ra}, nil
}

// fromDocker exports the image from Docker as a docker-archive and
// imports that.
func (s *store) fromDocker(ctx context.Context, opts Options, name string, p *progress) (*Image, error) {
	dc, err := runtimes.NewEngine(opts.Runtimes.DockerHost)
	if err != nil {
		return nil, classed(ErrUnavailable, "%w", err)
	}
	defer dc.Close()
	// Normalize checked name: only [a-z0-9._/:@-], nothing to escape,
	// and Docker's route takes the slashes as they are.
	lctx, cancel := bounded(ctx, opts)
	err = dc.Do(lctx, http.MethodGet, "/images/"+name+"/json", nil, nil)
	cancel()
	if errors.Is(err, runtimes.ErrNotFound) {
		return nil, classed(ErrNotFound, "docker: no image %s", name)
	}
	if err != nil {
		return nil, classed(ErrUnavailable, "%w", err)
	}
	p.printf("pulling %s from docker", name)
	// The export is as long as the image is big: bounded by ctx only.
	rc, err := dc.Stream(ctx, http.MethodGet, "/images/"+name+"/get")
	if err != nil {
		return nil, classed(ErrUnavailable, "docker: export %s: %w", name, err)
	}
	defer rc.Close()
	imgs, err := s.importArchive(ctx, p.reader(-1, rc), SourceDocker, name, p)
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	return imgs[0], nil
}

// fromRegistry pulls with containerd's resolver: plain HTTP to loopback
// registries, HTTPS elsewhere, credentials from the Docker config.
func (s *store) fromRegistry(ctx context.Context, opts Options, name string, p *progress) (*Image, error) {
	auths, err := loadAuths()
	if err != nil {
		return nil, err
	}
	resolver := docker.NewResolver(docker.ResolverOptions{
		Hosts: docker.ConfigureDefaultRegistries(
			docker.WithPlainHTTP(isLoopback),
			docker.WithAuthorizer(docker.NewDockerAuthorizer(docker.WithAuthCreds(auths.credentials))),
		),
	})
	lctx, cancel := bounded(ctx, opts)
	_, desc, err := resolver.Resolve(lctx, name)
	cancel()
	if errdefs.IsNotFound(err) {
		return nil, classed(ErrNotFound, "registry: %w", err)
	}
	if err != nil {
		return nil, classed(ErrUnavailable, "registry: %w", err)
	}
	f, err := resolver.Fetcher(ctx, name)
	if err != nil {
		return nil, classed(ErrUnavailable, "registry: %w", err)
	}
	p.printf("pulling %s from registry", name)
	m, err := s.fetch(ctx, f, desc, p)
	if err != nil {
		return nil, fmt.Errorf("registry: %w", err)
	}
	return s.commit(ctx, name, m, SourceRegistry, p)
}

// isLoopback says whether a registry host (with or without port) is this
// machine, which is spoken to over plain HTTP as docker does: all of
// 127.0.0.0/8, ::1 and localhost.
func isLoopback(host string) (bool, error) {
	h, _, err := net.SplitHostPort(host)
	if err != nil {
		h = strings.Trim(host, "[]")
	}
	if h == "localhost" {
		return true, nil
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback(), nil
}
