package engine

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/sasl"
	"github.com/twmb/franz-go/pkg/sasl/scram"
)

// scramListeners are the settings of a broker whose EXTERNAL listener logs
// clients in with SCRAM only, its users made through the INTERNAL one.
func scramListeners() []string {
	return []string{
		"listeners=INTERNAL://127.0.0.1:0,EXTERNAL://127.0.0.1:0",
		"listener.security.protocol.map=INTERNAL:PLAINTEXT,EXTERNAL:SASL_PLAINTEXT",
		"listener.name.external.sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512",
		"listener.name.external.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;",
	}
}

// loginWith pings the EXTERNAL listener as a client logging in with m; nil
// when it got in.
func loginWith(t *testing.T, tb *testBroker, m sasl.Mechanism) error {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(tb.addrs["EXTERNAL"]), kgo.SASL(m), kgo.RequestRetries(0))
	if err != nil {
		t.Fatal(err)
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return cl.Ping(ctx)
}

// Users made with AlterUserScramCredentials (kafka-configs --entity-type
// users, here kadm) log in with SCRAM-SHA-256 and -512 as franz-go's SCRAM
// client does it, produce and read; a wrong password, the other
// mechanism's password, a deleted credential do not get in; the
// credentials outlive a restart, and DescribeUserScramCredentials names
// mechanisms and iterations only.
func TestSCRAMLogin(t *testing.T) {
	tb := startBroker(t, scramListeners()...)
	adm := kadm.NewClient(tb.client(kgo.SeedBrokers(tb.addrs["INTERNAL"])))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// One request names a user once (Kafka refuses a user twice).
	for _, upserts := range [][]kadm.UpsertSCRAM{{
		{User: "alice", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "alice-secret"},
		{User: "bob", Mechanism: kadm.ScramSha512, Iterations: 4096, Password: "bob-secret"},
	}, {
		{User: "alice", Mechanism: kadm.ScramSha512, Iterations: 8192, Password: "alice-512-secret"},
	}} {
		altered, err := adm.AlterUserSCRAMs(ctx, nil, upserts)
		if err != nil {
			t.Fatal(err)
		}
		for user, a := range altered {
			if a.Err != nil {
				t.Fatalf("%s: %v %s", user, a.Err, a.ErrMessage)
			}
		}
	}

	alice256 := scram.Auth{User: "alice", Pass: "alice-secret"}.AsSha256Mechanism()
	alice512 := scram.Auth{User: "alice", Pass: "alice-512-secret"}.AsSha512Mechanism()
	bob512 := scram.Auth{User: "bob", Pass: "bob-secret"}.AsSha512Mechanism()
	for name, m := range map[string]sasl.Mechanism{"alice SHA-256": alice256, "alice SHA-512": alice512, "bob SHA-512": bob512} {
		if err := loginWith(t, tb, m); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for name, m := range map[string]sasl.Mechanism{
		"wrong password":               scram.Auth{User: "alice", Pass: "guess"}.AsSha256Mechanism(),
		"the other mechanism's":        scram.Auth{User: "alice", Pass: "alice-secret"}.AsSha512Mechanism(),
		"a mechanism the user has not": scram.Auth{User: "bob", Pass: "bob-secret"}.AsSha256Mechanism(),
		"no such user":                 scram.Auth{User: "mallory", Pass: "x"}.AsSha256Mechanism(),
	} {
		if err := loginWith(t, tb, m); !errors.Is(err, kerr.SaslAuthenticationFailed) {
			t.Fatalf("%s: %v, want SASL_AUTHENTICATION_FAILED", name, err)
		}
	}

	// A SCRAM user produces and reads.
	createTestTopic(t, tb, "scram", 1)
	cl := tb.client(kgo.SeedBrokers(tb.addrs["EXTERNAL"]), kgo.SASL(alice256), kgo.DefaultProduceTopic("scram"),
		kgo.ConsumeTopics("scram"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err := cl.ProduceSync(ctx, &kgo.Record{Value: []byte("from alice")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	fs := cl.PollFetches(ctx)
	if fs.NumRecords() != 1 || string(fs.Records()[0].Value) != "from alice" {
		t.Fatalf("read %d records, errors %v", fs.NumRecords(), fs.Errors())
	}

	described, err := adm.DescribeUserSCRAMs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string][]kadm.CredInfo{
		"alice": {{Mechanism: kadm.ScramSha256, Iterations: 4096}, {Mechanism: kadm.ScramSha512, Iterations: 8192}},
		"bob":   {{Mechanism: kadm.ScramSha512, Iterations: 4096}},
	}
	if len(described) != len(want) {
		t.Fatalf("described %+v", described)
	}
	for user, infos := range want {
		d := described[user]
		if d.Err != nil || len(d.CredInfos) != len(infos) || d.CredInfos[0] != infos[0] || d.CredInfos[len(infos)-1] != infos[len(infos)-1] {
			t.Fatalf("%s described as %+v, want %+v", user, d, infos)
		}
	}

	// The credentials are in the metadata log: they outlive a restart.
	tb.restart()
	if err := loginWith(t, tb, alice512); err != nil {
		t.Fatalf("after a restart: %v", err)
	}
	adm = kadm.NewClient(tb.client(kgo.SeedBrokers(tb.addrs["INTERNAL"])))
	if altered, err := adm.AlterUserSCRAMs(ctx, []kadm.DeleteSCRAM{{User: "alice", Mechanism: kadm.ScramSha512}}, nil); err != nil || altered["alice"].Err != nil {
		t.Fatalf("delete: %v %+v", err, altered)
	}
	if err := loginWith(t, tb, alice512); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("a deleted credential: %v", err)
	}
	if err := loginWith(t, tb, alice256); err != nil {
		t.Fatalf("the credential left: %v", err)
	}
}

// AlterUserScramCredentials answers each user on its own, in Kafka's
// codes, and refuses a user named twice whatever the mechanisms (Kafka's
// KRaft controller); DescribeUserScramCredentials names a
// user without credentials and one asked twice.
func TestAlterUserScramCredentialsErrors(t *testing.T) {
	tb := startBroker(t, scramListeners()...)
	cl := tb.client(kgo.SeedBrokers(tb.addrs["INTERNAL"]))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	upsert := func(user string, mechanism int8, iterations int32) kmsg.AlterUserSCRAMCredentialsRequestUpsertion {
		u := kmsg.NewAlterUserSCRAMCredentialsRequestUpsertion()
		u.Name, u.Mechanism, u.Iterations = user, mechanism, iterations
		u.Salt, u.SaltedPassword = []byte("salt-salt-salt"), make([]byte, 32)
		return u
	}
	del := func(user string, mechanism int8) kmsg.AlterUserSCRAMCredentialsRequestDeletion {
		d := kmsg.NewAlterUserSCRAMCredentialsRequestDeletion()
		d.Name, d.Mechanism = user, mechanism
		return d
	}
	req := kmsg.NewPtrAlterUserSCRAMCredentialsRequest()
	req.Upsertions = []kmsg.AlterUserSCRAMCredentialsRequestUpsertion{
		upsert("ok", 1, 4096),
		upsert("few", 1, 4095),
		upsert("many", 2, 16385),
		upsert("", 1, 4096),
		upsert("mech", 3, 4096),
		upsert("twice", 1, 4096), upsert("twice", 1, 5000),
		// Twice with two mechanisms: neither applies.
		upsert("half", 1, 4096), upsert("half", 2, 4096),
	}
	req.Deletions = []kmsg.AlterUserSCRAMCredentialsRequestDeletion{del("missing", 1), del("deleted-and-set", 2)}
	req.Upsertions = append(req.Upsertions, upsert("deleted-and-set", 2, 4096))
	resp, err := req.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int16{
		"ok": 0, "few": kerr.UnacceptableCredential.Code, "many": kerr.UnacceptableCredential.Code,
		"": kerr.UnacceptableCredential.Code, "mech": kerr.UnsupportedSaslMechanism.Code,
		"twice": kerr.DuplicateResource.Code, "half": kerr.DuplicateResource.Code,
		"missing": kerr.ResourceNotFound.Code, "deleted-and-set": kerr.DuplicateResource.Code,
	}
	if len(resp.Results) != len(want) {
		t.Fatalf("%d results, want %d: %+v", len(resp.Results), len(want), resp.Results)
	}
	for _, r := range resp.Results {
		if code, ok := want[r.User]; !ok || r.ErrorCode != code {
			t.Fatalf("user %q: code %d (%v), want %d", r.User, r.ErrorCode, r.ErrorMessage, code)
		}
	}

	dreq := kmsg.NewPtrDescribeUserSCRAMCredentialsRequest()
	for _, u := range []string{"ok", "half", "ok2", "ok2"} {
		ru := kmsg.NewDescribeUserSCRAMCredentialsRequestUser()
		ru.Name = u
		dreq.Users = append(dreq.Users, ru)
	}
	dresp, err := dreq.RequestWith(ctx, cl)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]int16{}
	for _, r := range dresp.Results {
		got[r.User] = r.ErrorCode
		if r.User == "ok" && (len(r.CredentialInfos) != 1 || r.CredentialInfos[0].Mechanism != 1 || r.CredentialInfos[0].Iterations != 4096) {
			t.Fatalf("ok described as %+v", r)
		}
	}
	if len(dresp.Results) != 3 || got["ok"] != 0 || got["half"] != kerr.ResourceNotFound.Code || got["ok2"] != kerr.DuplicateResource.Code {
		t.Fatalf("described %+v", dresp.Results)
	}
}

// --add-scram seeds a SCRAM user before the broker serves, so a listener
// offering only SCRAM lets its first user in; started again with another
// password for that user, the broker keeps the credential it has (it may
// have been changed since), as kafka-storage format seeds a cluster once.
func TestAddScramSeedsTheFirstUser(t *testing.T) {
	tb := &testBroker{t: t, dir: t.TempDir(), sets: []string{
		"listeners=SASL_PLAINTEXT://127.0.0.1:0",
		"sasl.enabled.mechanisms=SCRAM-SHA-512",
	}, args: []string{"--add-scram", `SCRAM-SHA-512=[name=admin,password="admin,secret]",iterations=8192]`}}
	launchBroker(tb)
	tb.addrs["EXTERNAL"] = tb.addr // loginWith's listener
	admin := scram.Auth{User: "admin", Pass: "admin,secret]"}.AsSha512Mechanism()
	if err := loginWith(t, tb, admin); err != nil {
		t.Fatal(err)
	}
	cl := tb.client(kgo.SASL(admin))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	described, err := kadm.NewClient(cl).DescribeUserSCRAMs(ctx, "admin")
	if err != nil || len(described["admin"].CredInfos) != 1 || described["admin"].CredInfos[0].Iterations != 8192 {
		t.Fatalf("described %+v, %v", described, err)
	}

	tb.args = []string{"--add-scram", "SCRAM-SHA-512=[name=admin,password=other]"}
	tb.restart()
	tb.addrs["EXTERNAL"] = tb.addr
	if err := loginWith(t, tb, admin); err != nil {
		t.Fatalf("the first password after a restart: %v", err)
	}
	if err := loginWith(t, tb, scram.Auth{User: "admin", Pass: "other"}.AsSha512Mechanism()); !errors.Is(err, kerr.SaslAuthenticationFailed) {
		t.Fatalf("--add-scram replaced a credential the metadata had: %v", err)
	}
}

// Steps out of order, a failed step and a retry, a second handshake in the
// middle, PLAIN on a listener offering only SCRAM: none of these
// pipelined sequences gets its last request, a Metadata, served.
func TestSCRAMStepsOutOfOrderServeNothing(t *testing.T) {
	tb := startBroker(t, scramListeners()...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	adm := kadm.NewClient(tb.client(kgo.SeedBrokers(tb.addrs["INTERNAL"])))
	if _, err := adm.AlterUserSCRAMs(ctx, nil, []kadm.UpsertSCRAM{{User: "alice", Mechanism: kadm.ScramSha256, Iterations: 4096, Password: "p"}}); err != nil {
		t.Fatal(err)
	}
	type step struct {
		req kmsg.Request
		v   int16
	}
	handshake := func(m string) step {
		r := kmsg.NewPtrSASLHandshakeRequest()
		r.Mechanism = m
		return step{r, 1}
	}
	auth := func(token string) step {
		r := kmsg.NewPtrSASLAuthenticateRequest()
		r.SASLAuthBytes = []byte(token)
		return step{r, 2}
	}
	metadata := step{kmsg.NewPtrMetadataRequest(), 9}
	for name, steps := range map[string][]step{
		"final before first":        {handshake("SCRAM-SHA-256"), auth("c=biws,r=abc,p=AAAA"), auth("n,,n=alice,r=abc"), metadata},
		"a wrong proof, then again": {handshake("SCRAM-SHA-256"), auth("n,,n=alice,r=abc"), auth("c=biws,r=abc,p=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), auth("n,,n=alice,r=abc"), metadata},
		"a second handshake":        {handshake("SCRAM-SHA-256"), auth("n,,n=alice,r=abc"), handshake("PLAIN"), metadata},
		"an unknown user":           {handshake("SCRAM-SHA-256"), auth("n,,n=mallory,r=abc"), auth("x"), metadata},
		"PLAIN where SCRAM is":      {handshake("PLAIN"), auth("\x00alice\x00p"), metadata},
		"no handshake":              {auth("n,,n=alice,r=abc"), metadata},
		"nothing but a Metadata":    {metadata},
	} {
		c := dialRaw(t, tb.addrs["EXTERNAL"], 10*time.Second)
		for _, s := range steps {
			if _, err := c.Write(sizePrefixed(encodeRequest(s.req, s.v))); err != nil {
				break // closed already
			}
		}
		answered := 0
		for ; answered < len(steps); answered++ {
			if _, err := readFrame(c); err != nil {
				break
			}
		}
		c.Close()
		if answered == len(steps) {
			t.Fatalf("%s: every step answered, the Metadata too", name)
		}
	}
}
