package credentials

import (
	"fmt"

	"github.com/google/uuid"
)

// CanonicalID returns id as a lowercase hyphenated UUID, the form used as the
// encryption's additional data and in every query.
func CanonicalID(id string) (string, error) {
	u, err := uuid.Parse(id)
	if err != nil {
		return "", fmt.Errorf("%q is not a UUID", id)
	}
	return u.String(), nil
}
