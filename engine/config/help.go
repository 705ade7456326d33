package config

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteHelp prints the usage line, how sources combine, and a table of every
// key with its default, unit, whether it is dynamic, and its meaning.
func WriteHelp(w io.Writer) {
	fmt.Fprintf(w, "Usage: %s\n\n", Usage)
	fmt.Fprint(w, `Each key is set, lowest precedence first, by its default; a "key=value" line in
the --config properties file; the environment variable CHRONIK_<KEY> (upper case,
dots as underscores, e.g. CHRONIK_LOG_DIRS); and --set key=value (repeatable, the
last one wins). Dynamic keys can also change at runtime, cluster-wide or for one
broker, through (Incremental)AlterConfigs on BROKER resources (kafka-configs
--entity-type brokers); those overrides sit above every source here.
When a setting is given in several units, the finest one wins, as in Kafka.
Kafka's listener.name.<name>. prefix (the listener's name in lower case) sets
the ssl.keystore.*, ssl.key.password, ssl.truststore.*, ssl.client.auth and
sasl.enabled.mechanisms keys for one listener only, and
listener.name.<name>.plain.sasl.jaas.config holds a SASL listener's PLAIN users
(org.apache.kafka.common.security.plain.PlainLoginModule required
user_alice="alice-secret";). --add-scram MECHANISM=[name=NAME,password=PASSWORD]
creates a SCRAM user at start unless the metadata already has one.

`)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tDEFAULT\tUNIT\tDYNAMIC\tMEANING")
	for _, k := range Keys() {
		def := k.Default
		if def == "" {
			def = `""`
		}
		unit := k.Unit
		if unit == "" {
			unit = "-"
		}
		dynamic := "no"
		if k.Dynamic {
			dynamic = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", k.Name, def, unit, dynamic, k.Doc)
	}
	tw.Flush()
}
