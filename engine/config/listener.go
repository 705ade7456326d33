package config

import (
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

// The security protocols Chronik serves: PLAINTEXT, SSL (TLS, with client
// certificates when ssl.client.auth asks for them), and SASL over either
// (SASL_PLAINTEXT, SASL_SSL). A listener's name maps to one of them through
// listener.security.protocol.map, whose default maps each protocol's own
// name to itself, as Kafka's does. Kafka normalises listener names to
// upper case, and so do we.
const (
	securityPlaintext     = "PLAINTEXT"
	securitySSL           = "SSL"
	securitySASLPlaintext = "SASL_PLAINTEXT"
	securitySASLSSL       = "SASL_SSL"
)

var securityProtocols = []string{securityPlaintext, securitySSL, securitySASLPlaintext, securitySASLSSL}

// listenerName is what a listener may be called: letters, digits, '_' and
// '-', so that it fits the listener.name.<name>. key prefix.
var listenerName = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// listener is one parsed NAME://host:port entry.
type listener struct {
	name string
	host string // empty: all interfaces
	port int
}

func (l listener) String() string {
	return l.name + "://" + net.JoinHostPort(l.host, strconv.Itoa(l.port))
}

// parseListener reads NAME://host:port. An IPv6 host is bracketed, as in
// Kafka ("PLAINTEXT://[::1]:9092").
func parseListener(s string) (listener, error) {
	bad := fmt.Errorf("listener %q: want NAME://host:port (NAME: PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL or a name in listener.security.protocol.map)", s)
	name, hostPort, ok := strings.Cut(s, "://")
	if !ok || !listenerName.MatchString(name) {
		return listener{}, bad
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
	return listener{name: strings.ToUpper(name), host: host, port: port}, nil
}

// parseListeners parses a listener list and applies Kafka's rules: each
// listener has its own name, and (for bound listeners) its own port, but
// that one IPv4 and one IPv6 address may share one; port 0 (any free port)
// may repeat. Advertised listeners must be reachable: a concrete host and a
// non-zero port, which several may share (a proxy in front).
func parseListeners(entries []string, advertised bool) ([]listener, error) {
	out := make([]listener, 0, len(entries))
	for _, e := range entries {
		l, err := parseListener(e)
		if err != nil {
			return nil, err
		}
		for _, o := range out {
			if o.name == l.name {
				return nil, fmt.Errorf("listener %q: listener name %s is used twice", e, l.name)
			}
			if !advertised && l.port != 0 && o.port == l.port && !oneIPv4OneIPv6(o.host, l.host) {
				return nil, fmt.Errorf("listener %q: port %d is also %s's; each listener needs its own port", e, l.port, o.name)
			}
		}
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

func oneIPv4OneIPv6(a, b string) bool {
	ipA, ipB := net.ParseIP(a), net.ParseIP(b)
	if ipA == nil || ipB == nil {
		return false
	}
	return (ipA.To4() == nil) != (ipB.To4() == nil)
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
		var norm []string
		for _, l := range ls {
			norm = append(norm, l.String())
		}
		*field(c) = norm
		return nil
	}
}

// protocolMapField takes listener.security.protocol.map: NAME:PROTOCOL
// pairs, one per listener name.
func protocolMapField(c *Config, v string) error {
	entries, err := splitList(v)
	if err != nil {
		return err
	}
	m := make(map[string]string, len(entries))
	var norm []string
	for _, e := range entries {
		name, proto, ok := strings.Cut(e, ":")
		name, proto = strings.ToUpper(strings.TrimSpace(name)), strings.ToUpper(strings.TrimSpace(proto))
		if !ok || !listenerName.MatchString(name) {
			return fmt.Errorf("entry %q: want LISTENER_NAME:SECURITY_PROTOCOL", e)
		}
		if !slices.Contains(securityProtocols, proto) {
			return fmt.Errorf("entry %q: security protocol %s is not served (%s)", e, proto, strings.Join(securityProtocols, ", "))
		}
		if _, dup := m[name]; dup {
			return fmt.Errorf("entry %q: listener name %s is mapped twice", e, name)
		}
		m[name] = proto
		norm = append(norm, name+":"+proto)
	}
	c.ListenerSecurityProtocolMap = norm
	return nil
}

// Listener is one listener the broker binds, with everything the broker
// needs to serve it.
type Listener struct {
	Name     string // upper case, as Kafka normalises it
	Protocol string // PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL
	Addr     string // host:port to bind (":9092" for all interfaces)
	// AdvertisedHost and AdvertisedPort are what Metadata names to a client
	// that came through this listener: its advertised.listeners entry, or
	// else its own address, a wildcard host replaced by this machine's
	// hostname as in Kafka. The port is 0 when the listener binds an
	// ephemeral port and nothing else is advertised: the bound one is.
	AdvertisedHost string
	AdvertisedPort int32
}

// TLS reports whether clients of the listener speak TLS (SSL, SASL_SSL).
func (l Listener) TLS() bool { return l.Protocol == securitySSL || l.Protocol == securitySASLSSL }

// SASL reports whether clients of the listener authenticate with SASL
// before anything else (SASL_PLAINTEXT, SASL_SSL).
func (l Listener) SASL() bool {
	return l.Protocol == securitySASLPlaintext || l.Protocol == securitySASLSSL
}

// ListenerSpecs resolves listeners, advertised.listeners and
// listener.security.protocol.map into the listeners to bind, in the order
// listeners names them. An advertised entry names a listener; a listener
// without one advertises its own address (Kafka would not advertise it at
// all, leaving its clients no broker to go on to).
func (c *Config) ListenerSpecs() ([]Listener, error) {
	ls, err := parseListeners(c.Listeners, false)
	if err != nil {
		return nil, fmt.Errorf("config: listeners: %w", err)
	}
	if len(ls) == 0 {
		return nil, errors.New("config: listeners must name at least one listener")
	}
	ads, err := parseListeners(c.AdvertisedListeners, true)
	if err != nil {
		return nil, fmt.Errorf("config: advertised.listeners: %w", err)
	}
	protocols := make(map[string]string, len(c.ListenerSecurityProtocolMap))
	for _, e := range c.ListenerSecurityProtocolMap {
		name, proto, _ := strings.Cut(e, ":")
		protocols[name] = proto
	}
	out := make([]Listener, 0, len(ls))
	for _, l := range ls {
		if slices.Contains(c.ControllerListenerNames, l.name) {
			continue // Kafka's KRaft controller listener: not bound
		}
		proto, ok := protocols[l.name]
		if !ok {
			return nil, fmt.Errorf("config: listener %s has no security protocol: listener.security.protocol.map (%s) does not map %s",
				l, strings.Join(c.ListenerSecurityProtocolMap, ","), l.name)
		}
		spec := Listener{Name: l.name, Protocol: proto, Addr: net.JoinHostPort(l.host, strconv.Itoa(l.port)),
			AdvertisedHost: l.host, AdvertisedPort: int32(l.port)}
		if spec.AdvertisedHost == "" || isWildcard(spec.AdvertisedHost) {
			if spec.AdvertisedHost, err = os.Hostname(); err != nil {
				return nil, fmt.Errorf("config: advertise listener %s: hostname: %w", l, err)
			}
		}
		out = append(out, spec)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("config: every listener (%s) is a controller listener (controller.listener.names): none is left for clients", strings.Join(c.Listeners, ","))
	}
	for _, a := range ads {
		if slices.Contains(c.ControllerListenerNames, a.name) {
			continue // advertised for controllers, as Kafka 4 writes it
		}
		i := indexOfListener(out, a.name)
		if i < 0 {
			return nil, fmt.Errorf("config: advertised.listeners names %s, which listeners (%s) does not", a.name, strings.Join(c.Listeners, ","))
		}
		out[i].AdvertisedHost, out[i].AdvertisedPort = a.host, int32(a.port)
	}
	return out, nil
}

// UnusedListenerKeys lists the listener.name.<name>. keys set for a
// listener the broker does not have: ignored, as Kafka ignores them (a
// shared config for brokers with other listeners), and worth a warning,
// since a typo in the name leaves a listener without its settings.
func (c *Config) UnusedListenerKeys(specs []Listener) []string {
	var unused []string
	for _, k := range c.listenerKeyNames() {
		name, _, _ := splitListenerKey(k)
		if indexOfListener(specs, strings.ToUpper(name)) < 0 {
			unused = append(unused, k)
		}
	}
	return unused
}

func indexOfListener(ls []Listener, name string) int {
	for i := range ls {
		if ls[i].Name == name {
			return i
		}
	}
	return -1
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

// controllerListenersField takes controller.listener.names.
func controllerListenersField(c *Config, v string) error {
	names, err := splitList(v)
	if err != nil {
		return err
	}
	for i, n := range names {
		if !listenerName.MatchString(n) {
			return fmt.Errorf("listener name %q: letters, digits, '_' and '-' only", n)
		}
		names[i] = strings.ToUpper(n)
	}
	c.ControllerListenerNames = names
	return nil
}
