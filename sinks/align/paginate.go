package align

import (
	"context"
	"iter"
	"maps"
	"net/url"
	"strconv"
)

// pageBody is the documented list envelope {"data":[...],"page":1,"pageSize":100,"total":347}.
type pageBody[T any] struct {
	Data     []T `json:"data"`
	Page     int `json:"page"`
	PageSize int `json:"pageSize"`
	Total    int `json:"total"`
}

// listAll walks every page of a list endpoint, listPageSize items at a time. The sequence stops
// after the first error, which it yields with a zero item. Each page is one call with its own
// retries; items created or deleted while the walk runs may be seen twice or missed, as with any
// offset pagination.
func listAll[T any](ctx context.Context, c *Client, r request) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		seen := 0
		for page := 1; ; page++ {
			body, err := fetchPage[T](ctx, c, r, page)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range body.Data {
				if !yield(item, nil) {
					return
				}
			}
			seen += len(body.Data)
			if len(body.Data) < listPageSize || seen >= body.Total {
				return
			}
		}
	}
}

func fetchPage[T any](ctx context.Context, c *Client, r request, page int) (pageBody[T], error) {
	q := url.Values{}
	if r.query != nil {
		q = maps.Clone(r.query)
	}
	q.Set("page", strconv.Itoa(page))
	q.Set("pageSize", strconv.Itoa(listPageSize))
	r.query = q
	var body pageBody[T]
	_, err := c.do(ctx, r, &body)
	return body, err
}

// Collect drains a list sequence into a slice, stopping at the first error.
func Collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	for item, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, item)
	}
	return out, nil
}

func setIf(q url.Values, key, value string) {
	if value != "" {
		q.Set(key, value)
	}
}
