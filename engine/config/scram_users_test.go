package config

import (
	"reflect"
	"strings"
	"testing"
)

// --add-scram takes kafka-storage format's form, repeatable; a password
// may be quoted to hold ',' and ']'; errors never print it.
func TestAddScramArguments(t *testing.T) {
	c, err := Load([]string{
		"--add-scram", "SCRAM-SHA-256=[name=alice,password=alice-secret]",
		"--add-scram=scram-sha-512=[name=bob,password=\"b,o]b\",iterations=8192]",
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []ScramUser{
		{Mechanism: "SCRAM-SHA-256", Name: "alice", Password: "alice-secret", Iterations: 4096},
		{Mechanism: "SCRAM-SHA-512", Name: "bob", Password: "b,o]b", Iterations: 8192},
	}
	if !reflect.DeepEqual(c.ScramUsers, want) {
		t.Fatalf("ScramUsers %+v, want %+v", c.ScramUsers, want)
	}
	for _, bad := range []string{
		"SCRAM-SHA-1=[name=a,password=sekrit]",
		"SCRAM-SHA-256=name=a,password=sekrit",
		"SCRAM-SHA-256=[name=a]",
		"SCRAM-SHA-256=[password=sekrit]",
		"SCRAM-SHA-256=[name=a,password=sekrit,iterations=100]",
		"SCRAM-SHA-256=[name=a,password=sekrit,salt=c2FsdA==]",
		`SCRAM-SHA-256=[name=a,password="sekrit]`,
		`SCRAM-SHA-256=[name=a,password="sekrit"x]`,
	} {
		_, err := Load([]string{"--add-scram", bad}, nil)
		if err == nil || !strings.Contains(err.Error(), "--add-scram") || strings.Contains(err.Error(), "sekrit") {
			t.Fatalf("%s: %v", bad, err)
		}
	}
	if _, err := Load([]string{"--add-scram"}, nil); err == nil {
		t.Fatal("--add-scram without a value was taken")
	}
}
