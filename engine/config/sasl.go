package config

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
)

// saslMechanisms are the SASL mechanisms served, by Kafka's names.
var saslMechanisms = []string{"PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"}

// saslMechanismsField takes sasl.enabled.mechanisms: PLAIN, SCRAM-SHA-256
// and SCRAM-SHA-512 are served (OAUTHBEARER and GSSAPI are not).
func saslMechanismsField(c *Config, v string) error {
	entries, err := splitList(v)
	if err != nil {
		return err
	}
	var out []string
	for _, e := range entries {
		m := strings.ToUpper(e)
		if !slices.Contains(saslMechanisms, m) {
			return fmt.Errorf("SASL mechanism %s is not served (%s are)", e, strings.Join(saslMechanisms, ", "))
		}
		out = append(out, m)
	}
	c.SASLEnabledMechanisms = out
	return nil
}

// jaasUser is one user_NAME="PASSWORD" (or user_NAME=PASSWORD) option of
// a JAAS line: an option of its own, not the end of another's name.
var jaasUser = regexp.MustCompile(`(?:^|[\s;])user_([^\s=]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;"]+))`)

// scramJAASField checks a SCRAM listener's JAAS line, which Kafka requires
// and which names nothing the broker needs (its users are in the
// metadata, made with AlterUserScramCredentials).
func scramJAASField(c *Config, v string) error {
	if v = strings.TrimSpace(v); v != "" && !strings.Contains(v, "ScramLoginModule") {
		return errors.New("want org.apache.kafka.common.security.scram.ScramLoginModule required;")
	}
	return nil
}

// plainUsers reads the users of a PlainLoginModule JAAS line, as Kafka's
// PlainServerCallbackHandler reads its user_NAME="PASSWORD" options.
func plainUsers(jaas string) (map[string]string, error) {
	if !strings.Contains(jaas, "PlainLoginModule") {
		return nil, errors.New("want org.apache.kafka.common.security.plain.PlainLoginModule required user_NAME=\"PASSWORD\" ...;")
	}
	users := map[string]string{}
	for _, m := range jaasUser.FindAllStringSubmatch(jaas, -1) {
		if m[3] != "" {
			users[m[1]] = m[3]
			continue
		}
		users[m[1]] = strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(m[2])
	}
	if len(users) == 0 {
		return nil, errors.New(`names no user: want user_NAME="PASSWORD" options`)
	}
	return users, nil
}

// SASLPlainUsers returns the PLAIN users of SASL listener name, from its
// listener.name.<name>.plain.sasl.jaas.config.
func (c *Config) SASLPlainUsers(name string) (map[string]string, error) {
	key := scopedKey(name, plainJAASSuffix)
	jaas := c.ListenerKeys[key]
	if jaas == "" {
		return nil, fmt.Errorf("config: the SASL listener %s needs %s (its PLAIN users)", strings.ToUpper(name), key)
	}
	users, err := plainUsers(jaas)
	if err != nil {
		return nil, fmt.Errorf("config: %s: %w", key, err)
	}
	return users, nil
}
