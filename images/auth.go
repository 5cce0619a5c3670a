package images

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// auths are registry credentials from the Docker config file, by host.
// Credential helpers (credsStore, credHelpers) are not run: a static
// binary on a node should not exec whatever a config names.
type auths map[string]credential

type credential struct{ user, secret string }

// dockerConfigPath is $DOCKER_CONFIG/config.json or ~/.docker/config.json.
func dockerConfigPath() string {
	if d := os.Getenv("DOCKER_CONFIG"); d != "" {
		return filepath.Join(d, "config.json")
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return ""
	}
	return filepath.Join(home, ".docker", "config.json")
}

// loadAuths reads the Docker config; none at all is no credentials.
func loadAuths() (auths, error) {
	path := dockerConfigPath()
	if path == "" {
		return auths{}, nil
	}
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return auths{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read registry credentials: %w", err)
	}
	a, err := parseAuths(b)
	if err != nil {
		return nil, fmt.Errorf("read registry credentials %s: %w", path, err)
	}
	return a, nil
}

// parseAuths reads the "auths" of a Docker config: "auth" is base64 of
// user:password; "username"/"password" and "identitytoken" also occur.
func parseAuths(b []byte) (auths, error) {
	var cfg struct {
		Auths map[string]struct {
			Auth          string `json:"auth"`
			Username      string `json:"username"`
			Password      string `json:"password"`
			IdentityToken string `json:"identitytoken"`
		} `json:"auths"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return nil, err
	}
	a := auths{}
	for host, e := range cfg.Auths {
		c := credential{e.Username, e.Password}
		if e.Auth != "" {
			dec, err := base64.StdEncoding.DecodeString(e.Auth)
			if err != nil {
				return nil, fmt.Errorf("auth of %s: %w", host, err)
			}
			user, pass, ok := strings.Cut(string(dec), ":")
			if !ok {
				return nil, fmt.Errorf("auth of %s: not user:password", host)
			}
			c = credential{user, pass}
		}
		if e.IdentityToken != "" {
			// containerd's authorizer takes an empty user with a
			// secret as a refresh token.
			c = credential{"", e.IdentityToken}
		}
		a[registryKey(host)] = c
	}
	return a, nil
}

// credentials is containerd's WithAuthCreds callback.
func (a auths) credentials(host string) (string, string, error) {
	c := a[registryKey(host)]
	return c.user, c.secret, nil
}

// registryKey reduces the ways a registry is written in a Docker config
// ("https://index.docker.io/v1/", "registry-1.docker.io", "host:port") to
// the host as the resolver names it.
func registryKey(s string) string {
	s = strings.TrimPrefix(strings.TrimPrefix(s, "https://"), "http://")
	s, _, _ = strings.Cut(s, "/")
	switch s {
	case "index.docker.io", "registry-1.docker.io", "docker.io":
		return "docker.io"
	}
	return s
}
