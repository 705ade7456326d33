package engine

import (
	"regexp"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ApiVersions: v0-4
//
// Behaviour:
// * Lists every served API key with its version range.
// * A version above 4 is answered in v0 format with UNSUPPORTED_VERSION and
//   the supported ranges (KIP-511), so the client retries at a version we know.
// * The response header is always v0 (no tagged fields), even for v3+.
//
// Version notes:
// * v1: ThrottleMillis
// * v3: flexible, ClientSoftwareName/Version validated (KIP-511)

func init() { registerAPI(18, 0, 4, (*Broker).handleApiVersions) }

var softwareNameRe = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$`)

func (b *Broker) handleApiVersions(r *request) {
	req := r.kreq.(*kmsg.ApiVersionsRequest)
	resp := req.ResponseKind().(*kmsg.ApiVersionsResponse)
	if req.Version >= 3 && (!softwareNameRe.MatchString(req.ClientSoftwareName) || !softwareNameRe.MatchString(req.ClientSoftwareVersion)) {
		resp.ErrorCode = kerr.InvalidRequest.Code
		r.respond(resp)
		return
	}
	resp.ApiKeys = supportedAPIs()
	r.respond(resp)
}

// handleApiVersionsUnsupported answers a too-new ApiVersions request in v0.
func (b *Broker) handleApiVersionsUnsupported(r *request) {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	resp.ApiKeys = supportedAPIs()
	r.respond(resp)
}
