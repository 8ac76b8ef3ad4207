package capture

import "github.com/segmentio/kafka-go"

// arena carves the bytes and headers of Kafka messages out of larger
// allocations: one allocation per ~64 KiB of messages instead of two per
// message. A block is freed once every message in it has been acknowledged,
// so memory held beyond the in-flight bytes is at most a block.
type arena struct {
	buf  []byte
	hdrs []kafka.Header
}

const (
	arenaBytes   = 64 << 10
	arenaHeaders = 1024
)

// bytes returns n bytes that no other call shares.
func (a *arena) bytes(n int) []byte {
	if n > arenaBytes/4 {
		return make([]byte, n)
	}
	if cap(a.buf)-len(a.buf) < n {
		a.buf = make([]byte, 0, arenaBytes)
	}
	start := len(a.buf)
	a.buf = a.buf[:start+n]
	return a.buf[start : start+n : start+n]
}

// headers returns n headers with room for none more.
func (a *arena) headers(n int) []kafka.Header {
	if cap(a.hdrs)-len(a.hdrs) < n {
		a.hdrs = make([]kafka.Header, 0, arenaHeaders)
	}
	start := len(a.hdrs)
	a.hdrs = a.hdrs[:start+n]
	return a.hdrs[start : start+n : start+n]
}
