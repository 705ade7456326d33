package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
)

// The listener security protocols Chronik serves: PLAINTEXT, SSL (TLS, with
// client certificates when ssl.client.auth asks for them), and SASL over
// either (SASL_PLAINTEXT, SASL_SSL). Kafka
// normalises listener names to upper case, and so do we.
const (
	securityPlaintext     = "PLAINTEXT"
	securitySSL           = "SSL"
	securitySASLPlaintext = "SASL_PLAINTEXT"
	securitySASLSSL       = "SASL_SSL"
)

// listener is one parsed NAME://host:port entry.
type listener struct {
	name string
	host string // empty: all interfaces
	port int
}

func (l listener) String() string {
	return l.name + "://" + net.JoinHostPort(l.host, strconv.Itoa(l.port))
}

// parseListener reads PLAINTEXT://host:port or SSL://host:port. An IPv6
// host is bracketed, as in Kafka ("PLAINTEXT://[::1]:9092").
func parseListener(s string) (listener, error) {
	bad := fmt.Errorf("listener %q: want PROTOCOL://host:port (PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)", s)
	name, hostPort, ok := strings.Cut(s, "://")
	if !ok || name == "" {
		return listener{}, bad
	}
	name = strings.ToUpper(name)
	switch name {
	case securityPlaintext, securitySSL, securitySASLPlaintext, securitySASLSSL:
	default:
		return listener{}, fmt.Errorf("listener %q: security protocol %s is not supported (PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL)", s, name)
	}
	host, portText, err := net.SplitHostPort(hostPort)
	if err != nil {
		return listener{}, bad
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return listener{}, bad
	}
	if port < 0 || port > 65535 {
		return listener{}, fmt.Errorf("listener %q: port %d is outside 0-65535", s, port)
	}
	return listener{name: name, host: host, port: port}, nil
}

// parseListeners parses a listener list and applies Kafka's rule that each
// listener has its own name. Advertised listeners must also be reachable:
// a concrete host and a non-zero port.
func parseListeners(entries []string, advertised bool) ([]listener, error) {
	out := make([]listener, 0, len(entries))
	seen := make(map[string]bool, len(entries))
	for _, e := range entries {
		l, err := parseListener(e)
		if err != nil {
			return nil, err
		}
		if seen[l.name] {
			return nil, fmt.Errorf("listener %q: listener name %s is used twice", e, l.name)
		}
		seen[l.name] = true
		if advertised {
			if l.host == "" || isWildcard(l.host) {
				return nil, fmt.Errorf("listener %q: an advertised host must be an address clients can reach, not empty or a wildcard", e)
			}
			if l.port == 0 {
				return nil, fmt.Errorf("listener %q: an advertised port must not be 0", e)
			}
		}
		out = append(out, l)
	}
	return out, nil
}

func isWildcard(host string) bool {
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

func listenersField(field func(*Config) *[]string, advertised bool) func(*Config, string) error {
	return func(c *Config, v string) error {
		entries, err := splitList(v)
		if err != nil {
			return err
		}
		if len(entries) == 0 && !advertised {
			return errors.New("must name at least one listener")
		}
		ls, err := parseListeners(entries, advertised)
		if err != nil {
			return err
		}
		if len(ls) > 1 {
			// One listener is bound: a second would be silently unserved.
			return errors.New("one listener only")
		}
		var norm []string
		for _, l := range ls {
			norm = append(norm, l.String())
		}
		*field(c) = norm
		return nil
	}
}

// theListener returns the one listener of entries.
func theListener(key string, entries []string, advertised bool) (listener, error) {
	ls, err := parseListeners(entries, advertised)
	if err != nil {
		return listener{}, fmt.Errorf("config: %s: %w", key, err)
	}
	if len(ls) != 1 {
		return listener{}, fmt.Errorf("config: %s must name one listener", key)
	}
	return ls[0], nil
}

// ListenAddr is the host:port to bind: the listener's (":9092" for an empty
// host, meaning all interfaces).
func (c *Config) ListenAddr() (string, error) {
	l, err := theListener("listeners", c.Listeners, false)
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(l.host, strconv.Itoa(l.port)), nil
}

// ListenerTLS reports whether the listener is SSL or SASL_SSL (TLS).
func (c *Config) ListenerTLS() (bool, error) {
	l, err := theListener("listeners", c.Listeners, false)
	return l.name == securitySSL || l.name == securitySASLSSL, err
}

// ListenerSASL reports whether the listener is SASL_PLAINTEXT or SASL_SSL:
// clients authenticate before anything else.
func (c *Config) ListenerSASL() (bool, error) {
	l, err := theListener("listeners", c.Listeners, false)
	return l.name == securitySASLPlaintext || l.name == securitySASLSSL, err
}

// AdvertisedHostPort is the host and port that Metadata tells clients: the
// advertised.listeners entry, or else the listener, where an empty or
// wildcard host becomes this machine's hostname as in Kafka. The port is 0
// when the broker listens on an ephemeral port; the caller then advertises
// the port it actually bound. An advertised listener names the listener's
// security protocol, as Kafka requires of its names.
func (c *Config) AdvertisedHostPort() (string, int32, error) {
	l, err := theListener("listeners", c.Listeners, false)
	if err != nil {
		return "", 0, err
	}
	if len(c.AdvertisedListeners) > 0 {
		a, err := theListener("advertised.listeners", c.AdvertisedListeners, true)
		if err != nil {
			return "", 0, err
		}
		if a.name != l.name {
			return "", 0, fmt.Errorf("config: advertised.listeners names %s, but the listener is %s", a.name, l.name)
		}
		return a.host, int32(a.port), nil
	}
	host := l.host
	if host == "" || isWildcard(host) {
		if host, err = os.Hostname(); err != nil {
			return "", 0, fmt.Errorf("config: advertise listener %s: hostname: %w", l, err)
		}
	}
	return host, int32(l.port), nil
}

// metricsListenerField takes host:port for the metrics endpoint (an empty
// host binds every interface, port 0 an ephemeral port) or "" for none.
func metricsListenerField(c *Config, v string) error {
	v = strings.TrimSpace(v)
	if v != "" {
		host, portText, err := net.SplitHostPort(v)
		if err != nil {
			return fmt.Errorf("want host:port or empty: %w", err)
		}
		port, err := strconv.Atoi(portText)
		if err != nil || port < 0 || port > 65535 {
			return fmt.Errorf("port %q is not a number in 0-65535", portText)
		}
		v = net.JoinHostPort(host, portText)
	}
	c.MetricsListener = v
	return nil
}

// ResponseQueueBytes is how many bytes of responses one connection may hold
// unwritten (netpoll's MaxQueuedBytes): 64 MiB, or one whole fetch where
// fetch.max.bytes is set higher, so that the queue never cuts a fetch below
// what the operator allows.
func (c *Config) ResponseQueueBytes() int { return max(64<<20, int(c.FetchMaxBytes)) }
