package meta

import "testing"

// A broker answers each listener with that listener's endpoint; a record
// written before brokers registered their listeners (host and port only)
// still decodes and answers every listener with its one address.
func TestBrokerEndpoint(t *testing.T) {
	b := Broker{NodeID: 1, Host: "10.0.0.5", Port: 9092, Listeners: []Endpoint{
		{Listener: "INTERNAL", Host: "10.0.0.5", Port: 9092, SecurityProtocol: "PLAINTEXT"},
		{Listener: "EXTERNAL", Host: "kafka.example.com", Port: 443, SecurityProtocol: "SASL_SSL"},
	}}
	f := func(b Broker, listener, wantHost string, wantPort int32, wantOK bool) {
		t.Helper()
		host, port, ok := b.Endpoint(listener)
		if host != wantHost || port != wantPort || ok != wantOK {
			t.Fatalf("Endpoint(%q) = %s, %d, %v; want %s, %d, %v", listener, host, port, ok, wantHost, wantPort, wantOK)
		}
	}
	f(b, "INTERNAL", "10.0.0.5", 9092, true)
	f(b, "EXTERNAL", "kafka.example.com", 443, true)
	f(b, "REPLICATION", "", 0, false)
	f(b, "", "10.0.0.5", 9092, true)

	ops, err := DecodeOps([]byte(`[{"kind":"register_broker","broker":{"node_id":1,"host":"h","port":9092}}]`))
	if err != nil {
		t.Fatal(err)
	}
	f(*ops[0].Broker, "EXTERNAL", "h", 9092, true)
	enc, err := EncodeOps([]Op{{Kind: OpRegisterBroker, Broker: &b}})
	if err != nil {
		t.Fatal(err)
	}
	if ops, err = DecodeOps(enc); err != nil {
		t.Fatal(err)
	}
	f(*ops[0].Broker, "EXTERNAL", "kafka.example.com", 443, true)
}
