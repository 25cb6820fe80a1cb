package frontend

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"
)

const (
	testIndex = `<!doctype html><html><head><script type="module" src="/assets/index-abc123.js"></script></head><body><div id="root"></div></body></html>`
	testJS    = `console.log("berth")`
	testCSS   = `body{margin:0}`
	testIcon  = `<svg xmlns="http://www.w3.org/2000/svg"></svg>`
)

func builtFS() fstest.MapFS {
	return fstest.MapFS{
		".keep":                   {Data: []byte("# placeholder\n")},
		"index.html":              {Data: []byte(testIndex)},
		"favicon.svg":             {Data: []byte(testIcon)},
		"assets/index-abc123.js":  {Data: []byte(testJS)},
		"assets/index-def456.css": {Data: []byte(testCSS)},
	}
}

func TestHandler(t *testing.T) {
	built := builtFS()
	notBuiltFS := fstest.MapFS{".keep": {Data: []byte("# placeholder\n")}}

	tests := []struct {
		name        string
		fsys        fstest.MapFS
		method      string
		path        string
		header      map[string]string
		wantStatus  int
		wantBody    string // exact body, if set
		wantContain string // substring of the body, if set
		wantType    string // prefix of Content-Type, if set
		wantCache   string // exact Cache-Control, if set
	}{
		{name: "root serves index", fsys: built, path: "/", wantStatus: 200, wantBody: testIndex, wantType: "text/html", wantCache: "no-cache"},
		{name: "index.html is not redirected", fsys: built, path: "/index.html", wantStatus: 200, wantBody: testIndex, wantType: "text/html", wantCache: "no-cache"},
		{name: "client route falls back to index", fsys: built, path: "/apps", wantStatus: 200, wantBody: testIndex, wantType: "text/html", wantCache: "no-cache"},
		{name: "nested client route falls back to index", fsys: built, path: "/apps/123/backups", wantStatus: 200, wantBody: testIndex, wantCache: "no-cache"},
		{name: "login route with query falls back to index", fsys: built, path: "/login?next=%2Fapps", wantStatus: 200, wantBody: testIndex},
		{name: "hashed js asset is cached for long", fsys: built, path: "/assets/index-abc123.js", wantStatus: 200, wantBody: testJS, wantType: "text/javascript", wantCache: "public, max-age=31536000, immutable"},
		{name: "hashed css asset is cached for long", fsys: built, path: "/assets/index-def456.css", wantStatus: 200, wantBody: testCSS, wantType: "text/css", wantCache: "public, max-age=31536000, immutable"},
		{name: "missing asset is 404, not index", fsys: built, path: "/assets/index-old999.js", wantStatus: 404},
		{name: "assets directory is the SPA, not a listing", fsys: built, path: "/assets", wantStatus: 200, wantBody: testIndex},
		{name: "top-level public file is revalidated", fsys: built, path: "/favicon.svg", wantStatus: 200, wantBody: testIcon, wantType: "image/svg+xml", wantCache: "no-cache"},
		{name: "placeholder dot-file is hidden", fsys: built, path: "/.keep", wantStatus: 404},
		{name: "dot-dot cannot escape", fsys: built, path: "/../embed.go", wantStatus: 200, wantBody: testIndex},
		{name: "HEAD of index has no body", fsys: built, method: http.MethodHead, path: "/", wantStatus: 200, wantBody: "", wantType: "text/html"},
		{name: "POST is not allowed", fsys: built, method: http.MethodPost, path: "/", wantStatus: 405},
		{name: "not built: plain page about make frontend", fsys: notBuiltFS, path: "/", wantStatus: 503, wantContain: "make frontend", wantType: "text/plain"},
		{name: "not built: client route too", fsys: notBuiltFS, path: "/apps", wantStatus: 503, wantContain: "not built", wantCache: "no-store"},
		{name: "not built: empty fs", fsys: fstest.MapFS{}, path: "/", wantStatus: 503, wantContain: "make frontend"},
	}

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodGet
			}
			req := httptest.NewRequest(method, tc.path, nil)
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			handler(tc.fsys).ServeHTTP(rec, req)
			res := rec.Result()
			body, _ := io.ReadAll(res.Body)

			if res.StatusCode != tc.wantStatus {
				t.Fatalf("status = %d, want %d (body %q)", res.StatusCode, tc.wantStatus, body)
			}
			if tc.wantStatus == 200 && tc.wantBody != "" || tc.method == http.MethodHead {
				if string(body) != tc.wantBody {
					t.Errorf("body = %q, want %q", body, tc.wantBody)
				}
			}
			if tc.wantContain != "" && !strings.Contains(string(body), tc.wantContain) {
				t.Errorf("body = %q, want it to contain %q", body, tc.wantContain)
			}
			if ct := res.Header.Get("Content-Type"); tc.wantType != "" && !strings.HasPrefix(ct, tc.wantType) {
				t.Errorf("Content-Type = %q, want prefix %q", ct, tc.wantType)
			}
			if cc := res.Header.Get("Cache-Control"); tc.wantCache != "" && cc != tc.wantCache {
				t.Errorf("Cache-Control = %q, want %q", cc, tc.wantCache)
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q, want nosniff", got)
			}
		})
	}
}

func TestHandlerRevalidatesIndexWithETag(t *testing.T) {
	h := handler(builtFS())

	first := httptest.NewRecorder()
	h.ServeHTTP(first, httptest.NewRequest(http.MethodGet, "/", nil))
	etag := first.Result().Header.Get("ETag")
	if etag == "" {
		t.Fatal("index.html has no ETag")
	}

	req := httptest.NewRequest(http.MethodGet, "/apps", nil)
	req.Header.Set("If-None-Match", etag)
	second := httptest.NewRecorder()
	h.ServeHTTP(second, req)
	if second.Code != http.StatusNotModified {
		t.Fatalf("revalidation status = %d, want 304", second.Code)
	}
}

// The exported Handler serves whatever was embedded: the built SPA or, on a clean
// checkout (only dist/.keep), the not-built page. Either way "/" answers.
func TestEmbeddedHandler(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	switch rec.Code {
	case http.StatusOK:
		if !strings.Contains(rec.Body.String(), `<div id="root">`) {
			t.Errorf("embedded index.html does not look like the SPA: %q", rec.Body.String())
		}
	case http.StatusServiceUnavailable:
		if !strings.Contains(rec.Body.String(), "make frontend") {
			t.Errorf("not-built page = %q", rec.Body.String())
		}
	default:
		t.Fatalf("status = %d", rec.Code)
	}

	rec = httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/.keep", nil))
	if rec.Code == http.StatusOK {
		t.Errorf("/.keep is served")
	}
}
