package bench

// Internal helpers exposed to the external tests.
var (
	ParseStatusBytes = parseStatusBytes
	ParseStatCPU     = parseStatCPU
	RefreshTokenOf   = refreshTokenOf
)

var ServerLogLevel = serverLogLevel
