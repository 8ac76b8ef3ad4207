package connect

import "testing"

func TestScrub(t *testing.T) {
	key := "ako_urD17mRzAbCdEfGhIjKlMnOpQrStUvWx"
	cases := map[string]string{
		"align GET /me: 401 key_revoked: API key ako_urD17mRz has been revoked": "align GET /me: 401 key_revoked: API key … has been revoked",
		"nothing secret here":  "nothing secret here",
		"full " + key + " end": "full … end",
		"last four UvWx stays": "last four UvWx stays",
	}
	for in, want := range cases {
		if got := scrub(in, key); got != want {
			t.Errorf("scrub(%q) = %q, want %q", in, got, want)
		}
	}
}
