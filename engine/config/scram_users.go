package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ScramUser is one --add-scram argument: a SCRAM user the broker creates
// at start when the metadata holds no credential of its mechanism for it,
// as kafka-storage.sh format --add-scram seeds a Kafka cluster. A SASL
// listener whose only mechanisms are SCRAM has no other way to let its
// first user in; a credential already there (changed since with
// AlterUserScramCredentials) is left as it is.
type ScramUser struct {
	Mechanism  string // SCRAM-SHA-256 or SCRAM-SHA-512
	Name       string
	Password   string
	Iterations int32 // 4096 unless iterations= says
}

// parseScramUser reads Kafka's --add-scram form,
// MECHANISM=[name=NAME,password=PASSWORD(,iterations=N)]. The password may
// be double-quoted; a quoted one may hold ',' and ']'. Errors never carry
// the password.
func parseScramUser(arg string) (ScramUser, error) {
	bad := errors.New(`want SCRAM-SHA-256=[name=NAME,password=PASSWORD] (or SCRAM-SHA-512, and an optional iterations=N)`)
	mech, rest, ok := strings.Cut(arg, "=")
	mech = strings.ToUpper(strings.TrimSpace(mech))
	if !ok || !strings.HasPrefix(rest, "[") || !strings.HasSuffix(rest, "]") {
		return ScramUser{}, bad
	}
	if mech != "SCRAM-SHA-256" && mech != "SCRAM-SHA-512" {
		return ScramUser{}, fmt.Errorf("mechanism %q: want SCRAM-SHA-256 or SCRAM-SHA-512", mech)
	}
	u := ScramUser{Mechanism: mech, Iterations: 4096}
	body := rest[1 : len(rest)-1]
	for body != "" {
		key, after, ok := strings.Cut(body, "=")
		if !ok {
			return ScramUser{}, bad
		}
		var value string
		if strings.HasPrefix(after, `"`) {
			end := strings.Index(after[1:], `"`)
			if end < 0 {
				return ScramUser{}, errors.New("an unterminated quoted value")
			}
			value, after = after[1:1+end], after[2+end:]
			if after != "" && !strings.HasPrefix(after, ",") {
				return ScramUser{}, bad
			}
			after = strings.TrimPrefix(after, ",")
		} else {
			value, after, _ = strings.Cut(after, ",")
		}
		body = after
		switch strings.TrimSpace(key) {
		case "name":
			u.Name = value
		case "password":
			u.Password = value
		case "iterations":
			n, err := strconv.ParseInt(value, 10, 32)
			if err != nil || n < 4096 || n > 16384 {
				return ScramUser{}, fmt.Errorf("iterations %q: want 4096-16384", value)
			}
			u.Iterations = int32(n)
		default:
			return ScramUser{}, fmt.Errorf("attribute %q: want name, password and iterations", key)
		}
	}
	if u.Name == "" || u.Password == "" {
		return ScramUser{}, errors.New("name and password must not be empty")
	}
	return u, nil
}
