package alignsim

import (
	"net/url"
	"strconv"
)

// Page sizes of align-contract.md §1.
const (
	defaultPageSize = 50
	maxPageSize     = 100
)

type pageReq struct {
	page int // 1-based
	size int
}

// parsePage reads page and pageSize; pageSize above 100 is a 400, not a
// silent clamp, as the contract assumes.
func parsePage(q url.Values) (pageReq, error) {
	pg := pageReq{page: 1, size: defaultPageSize}
	if v := q.Get("page"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return pg, errValidation("page: must be a positive integer")
		}
		pg.page = n
	}
	if v := q.Get("pageSize"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxPageSize {
			return pg, errValidation("pageSize: must be an integer between 1 and %d", maxPageSize)
		}
		pg.size = n
	}
	return pg, nil
}

func window[T any](items []T, pg pageReq) []T {
	if pg.page-1 > len(items)/pg.size { // also keeps the multiplication from overflowing
		return nil
	}
	start := min((pg.page-1)*pg.size, len(items))
	end := min(start+pg.size, len(items))
	return items[start:end]
}
