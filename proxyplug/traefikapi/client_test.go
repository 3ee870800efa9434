package traefikapi

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// fakeTraefik answers the two endpoints with the shapes Traefik documents
// (GET /api/http/routers/<name>, GET /api/http/services/<name>); anything
// else is Traefik's 404.
func fakeTraefik(t *testing.T) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/http/routers/tf-web-www@redis":
			_ = json.NewEncoder(w).Encode(map[string]any{
				"entryPoints": []string{"web"}, "service": "tf-web-www", "rule": "Host(`www.example.com`)",
				"status": "enabled", "name": "tf-web-www@redis", "provider": "redis",
			})
		case "/api/http/services/tf-web-www@redis":
			_ = json.NewEncoder(w).Encode(map[string]any{
				"loadBalancer": map[string]any{"servers": []map[string]string{{"url": "http://10.0.0.2:8080"}, {"url": "http://10.0.0.3:8080"}}},
				"status":       "enabled", "name": "tf-web-www@redis", "provider": "redis",
			})
		case "/api/http/services/broken@redis":
			_, _ = w.Write([]byte(`{"loadBalancer":`))
		default:
			http.Error(w, `{"message":"router not found"}`, http.StatusNotFound)
		}
	}))
	t.Cleanup(s.Close)
	return s
}

func TestRouter(t *testing.T) {
	api := Client{Base: fakeTraefik(t).URL + "/"} // a trailing slash is fine
	ctx := context.Background()
	r, err := api.Router(ctx, "tf-web-www@redis")
	if err != nil || r != (Router{Status: "enabled", Rule: "Host(`www.example.com`)"}) {
		t.Errorf("Router = %+v, %v", r, err)
	}
	_, err = api.Router(ctx, "tf-web-api@redis")
	if err == nil || !strings.Contains(err.Error(), "GET /api/http/routers/tf-web-api@redis: 404 Not Found") || !strings.Contains(err.Error(), "router not found") {
		t.Errorf("Router of an unknown router = %v", err)
	}
}

func TestCheckBalances(t *testing.T) {
	api := Client{Base: fakeTraefik(t).URL, HTTP: &http.Client{}}
	ctx := context.Background()
	if err := api.CheckBalances(ctx, "tf-web-www@redis", "10.0.0.3:8080"); err != nil {
		t.Errorf("CheckBalances to a listed server = %v", err)
	}
	err := api.CheckBalances(ctx, "tf-web-www@redis", "10.0.0.4:8080")
	if err == nil || !strings.Contains(err.Error(), "traefik balances service tf-web-www@redis to [{http://10.0.0.2:8080} {http://10.0.0.3:8080}], not yet http://10.0.0.4:8080") {
		t.Errorf("CheckBalances to an unlisted server = %v", err)
	}
	if err := api.CheckBalances(ctx, "tf-web-www@docker", "10.0.0.3:8080"); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("CheckBalances of an unknown service = %v", err)
	}
	if err := api.CheckBalances(ctx, "broken@redis", "10.0.0.3:8080"); err == nil || !strings.Contains(err.Error(), "GET /api/http/services/broken@redis: unexpected EOF") {
		t.Errorf("CheckBalances of a truncated answer = %v", err)
	}
}

func TestUnreachableAndBadBase(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there any more
	ctx := context.Background()
	if _, err := (Client{Base: base}).Router(ctx, "x@redis"); err == nil || !strings.HasPrefix(err.Error(), "traefik api: ") {
		t.Errorf("Router of a closed API = %v", err)
	}
	if _, err := (Client{Base: "http://bad host"}).Router(ctx, "x@redis"); err == nil || !strings.Contains(err.Error(), "traefik api GET /api/http/routers/x@redis") {
		t.Errorf("Router with a malformed base URL = %v", err)
	}
}
