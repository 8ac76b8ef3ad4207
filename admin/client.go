package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// CallConnectionAPI calls serve's admin API at baseURL on a company's Align
// connection (path after /api/companies/{id}/align, e.g. "/connection") with
// a bearer token, as Illumera's admin tools would, and decodes a 200 answer
// into out (nil: not read). Any other answer is an error naming its status
// and the error's code and message.
func CallConnectionAPI(ctx context.Context, baseURL, token, method, companyID, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, baseURL+"/api/companies/"+companyID+"/align"+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("calling the admin API %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("reading the admin API's answer to %s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e errorBody
		if json.Unmarshal(raw, &e) != nil || e.Error.Code == "" {
			return fmt.Errorf("admin API %s %s answered %d: %s", method, path, resp.StatusCode, bytes.TrimSpace(raw))
		}
		return fmt.Errorf("admin API %s %s answered %d %s: %s", method, path, resp.StatusCode, e.Error.Code, e.Error.Message)
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decoding the admin API's answer to %s %s: %w", method, path, err)
	}
	return nil
}
