package group

import (
	"bytes"
	"time"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// classicMember is one member of a classic group.
type classicMember struct {
	id               string
	instanceID       *string
	clientID         string
	clientHost       string
	sessionTimeout   time.Duration
	rebalanceTimeout time.Duration
	protocols        []kmsg.JoinGroupRequestProtocol // in the member's preference order
	assignment       []byte

	join    *parkedJoin // a JoinGroup waiting for the rebalance to complete
	sync    *parkedSync // a SyncGroup waiting for the leader's assignment
	session *timer      // runs while no request of the member is parked
}

type parkedJoin struct {
	req   *kmsg.JoinGroupRequest
	reply func(kmsg.Response)
}

type parkedSync struct {
	req   *kmsg.SyncGroupRequest
	reply func(kmsg.Response)
}

// metadataFor returns the member's metadata for protocol.
func (m *classicMember) metadataFor(protocol string) ([]byte, bool) {
	for _, p := range m.protocols {
		if p.Name == protocol {
			return p.Metadata, true
		}
	}
	return nil, false
}

// sameProtocols reports whether a rejoin carries exactly the protocols the
// member joined with, so it changes nothing the leader assigned from.
func (m *classicMember) sameProtocols(ps []kmsg.JoinGroupRequestProtocol) bool {
	if len(ps) != len(m.protocols) {
		return false
	}
	for i := range ps {
		if ps[i].Name != m.protocols[i].Name || !bytes.Equal(ps[i].Metadata, m.protocols[i].Metadata) {
			return false
		}
	}
	return true
}

func (m *classicMember) parked() bool { return m.join != nil || m.sync != nil }
