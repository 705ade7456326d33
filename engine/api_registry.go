package engine

import (
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"
)

// apiHandler serves one API key. It must not block the event loop: work that
// waits (metadata proposals, disk) runs on shards or its own goroutine.
type apiHandler func(b *Broker, r *request)

type apiEntry struct {
	min, max int16
	handle   apiHandler
}

// apis is filled by each handler file's init, one file per API key.
var apis = map[int16]apiEntry{}

func registerAPI(key, minVersion, maxVersion int16, h apiHandler) {
	if _, dup := apis[key]; dup {
		panic("api key registered twice")
	}
	apis[key] = apiEntry{min: minVersion, max: maxVersion, handle: h}
}

// supportedAPIs lists the served ranges in key order for ApiVersions.
func supportedAPIs() []kmsg.ApiVersionsResponseApiKey {
	keys := make([]kmsg.ApiVersionsResponseApiKey, 0, len(apis))
	for k, e := range apis {
		v := kmsg.NewApiVersionsResponseApiKey()
		v.ApiKey, v.MinVersion, v.MaxVersion = k, e.min, e.max
		keys = append(keys, v)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].ApiKey < keys[j].ApiKey })
	return keys
}
