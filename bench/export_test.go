package bench

// Internal helpers exposed to the external tests.
var (
	ParseStatusBytes = parseStatusBytes
	ParseStatCPU     = parseStatCPU
	RefreshTokenOf   = refreshTokenOf
)

var ServerLogLevel = serverLogLevel

// Count returns how many durations were recorded.
func (h *Histogram) Count() uint64 { return h.n.Load() }
