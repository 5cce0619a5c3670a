package runtimes

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"

	"github.com/ctr-enter/ctr-enter/internal/text"
)

// stopped reads a stopped Docker container's layers from the Engine API's
// inspect (GraphDriver: overlay2's LowerDir list, UpperDir and WorkDir)
// and its config's hostname and user.
func (d *docker) stopped(ctx context.Context, c *Container) (*Stopped, error) {
	var info struct {
		State struct {
			Running, Restarting bool
			StartedAt           string
		}
		Config struct {
			Hostname, User string
		}
		HostConfig struct {
			Tmpfs map[string]string
		}
		Mounts []struct {
			Type, Source, Destination string
			RW                        bool
		}
		GraphDriver struct {
			Name string
			Data map[string]string
		}
	}
	err := d.Do(ctx, http.MethodGet, "/containers/"+url.PathEscape(c.ID)+"/json", nil, &info)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("%w: %s was removed", ErrVanished, c.Ref())
	}
	if err != nil {
		return nil, err
	}
	c.Running = info.State.Running || info.State.Restarting
	if info.GraphDriver.Name != "overlay2" && info.GraphDriver.Name != "overlay" {
		return nil, fmt.Errorf("%w: %s: Docker's storage driver %s (ctr-enter reads overlay2's layers)", ErrNoRootFS, c.Ref(), text.Clean(info.GraphDriver.Name))
	}
	data := info.GraphDriver.Data
	s := &Stopped{Config: Config{Hostname: info.Config.Hostname, User: info.Config.User}, Run: info.State.StartedAt}
	s.RootFS.Upper, s.RootFS.Work = data["UpperDir"], data["WorkDir"]
	if data["LowerDir"] != "" {
		s.RootFS.Lower = filepath.SplitList(data["LowerDir"])
	}
	if s.RootFS.Upper == "" {
		return nil, fmt.Errorf("%w: %s: Docker names no UpperDir", ErrNoRootFS, c.Ref())
	}
	for _, m := range info.Mounts {
		switch {
		case m.Type == "tmpfs":
			s.Mounts = append(s.Mounts, Mount{Destination: m.Destination, RW: m.RW})
		// A volume's Source is its directory on the host; a plugin's
		// volume has none while the container is stopped.
		case (m.Type == "volume" || m.Type == "bind") && m.Source != "":
			s.Mounts = append(s.Mounts, Mount{Source: m.Source, Destination: m.Destination, RW: m.RW})
		}
	}
	// --tmpfs: not in Mounts. Empty at every start anyway.
	for dst, opts := range info.HostConfig.Tmpfs {
		s.Mounts = append(s.Mounts, Mount{Destination: dst, RW: !slices.Contains(strings.Split(opts, ","), "ro")})
	}
	return s, nil
}
