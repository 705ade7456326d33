package config

import (
	"reflect"
	"testing"
)

func TestParseProperties(t *testing.T) {
	f := func(text string, want ...property) {
		t.Helper()
		got, err := parseProperties(text)
		if err != nil {
			t.Fatalf("parseProperties(%q): %v", text, err)
		}
		if len(want) == 0 {
			want = nil
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("parseProperties(%q)\n got %+v\nwant %+v", text, got, want)
		}
	}
	p := func(key, value string, line int) property { return property{key: key, value: value, line: line} }

	f("")
	f("\n\n   \n")
	// The three separators, with whitespace around them trimmed.
	f("a=1\nb: 2\nc 3\n", p("a", "1", 1), p("b", "2", 2), p("c", "3", 3))
	f("  a  =  1  \n\tb\t:\t2\t\n", p("a", "1", 1), p("b", "2", 2))
	f("a = = x\n", p("a", "= x", 1))
	// Only the first separator splits; the value keeps the rest.
	f("listeners=PLAINTEXT://127.0.0.1:9092\n", p("listeners", "PLAINTEXT://127.0.0.1:9092", 1))
	f("listeners: PLAINTEXT://h:1\n", p("listeners", "PLAINTEXT://h:1", 1))
	// Comments with # and !, also indented; a # later in a line is value text.
	f("# c\n! c\n   # c\na=1 # not a comment\n", p("a", "1 # not a comment", 4))
	// A key alone has an empty value; the last line needs no newline.
	f("cluster.id\nb=2", p("cluster.id", "", 1), p("b", "2", 2))
	// Windows and old-Mac line ends, and a UTF-8 byte-order mark.
	f("\ufeffa=1\r\nb=2\rc=3\n", p("a", "1", 1), p("b", "2", 2), p("c", "3", 3))
	// Continuation lines join, dropping the next line's indent; the line
	// number is where the logical line starts.
	f("x=0\nlisteners=PLAINTEXT://a:1,\\\n    PLAINTEXT://b:2\ny=3\n",
		p("x", "0", 1), p("listeners", "PLAINTEXT://a:1,PLAINTEXT://b:2", 2), p("y", "3", 4))
	// A continued line that starts with # is value text, not a comment.
	f("a=1\\\n# two\n", p("a", "1# two", 1))
	// An even number of trailing backslashes is an escaped backslash, not a continuation.
	f("a=c:\\\\\nb=2\n", p("a", `c:\`, 1), p("b", "2", 2))
	// A comment ending in a backslash does not continue.
	f("# c \\\na=1\n", p("a", "1", 2))
	// A backslash at the end of the file ends the line.
	f("a=1\\", p("a", "1", 1))
	// Escapes: separators in keys, \t \n, \uXXXX.
	f(`a\=b\:c\ d=1`, p("a=b:c d", "1", 1))
	f(`a=x\ty\nz`, p("a", "x\ty\nz", 1))
	f(`a=caf\u00e9`, p("a", "café", 1))
	f(`a=\q`, p("a", "q", 1))
}

func TestParsePropertiesErrors(t *testing.T) {
	f := func(text, want string) {
		t.Helper()
		_, err := parseProperties(text)
		if err == nil || err.Error() != want {
			t.Fatalf("parseProperties(%q) error = %v, want %s", text, err, want)
		}
	}
	f("a=1\nb=\\u00", `line 2: malformed \uxxxx escape in "\\u00"`)
	f("a=\\uzzzz", `line 1: malformed \uxxxx escape in "\\uzzzz"`)
	f("\\u12=1", `line 1: malformed \uxxxx escape in "\\u12"`)
}
