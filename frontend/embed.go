// Package frontend serves berth's single-page app, built by Vite into dist/ and embedded
// into the binary.
package frontend

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// dist holds the output of `npm run build` (make frontend). On a clean checkout it holds
// only the placeholder dist/.keep, and Handler says that the SPA is not built.
//
//go:embed all:dist
var dist embed.FS

const (
	indexFile = "index.html"
	// Vite puts content-hashed files under assets/: they never change, so they are cached
	// for a year. Everything else (index.html, favicon, ...) is revalidated on each use.
	assetsDir      = "assets"
	immutableCache = "public, max-age=31536000, immutable"
	noCache        = "no-cache"
)

// NotBuiltMessage is the body served when the binary was built without the SPA.
const NotBuiltMessage = "The berth web UI (SPA) is not built into this binary.\n" +
	"Run `make frontend` and rebuild berth. The GraphQL API at /graphql works without it.\n"

// Handler serves the embedded SPA at the root of the site: files from dist/, hashed assets
// with a long cache lifetime, index.html (no-cache) for "/" and for any other path that is
// not a file (client-side routes). Mount it at "/" after the API routes.
func Handler() http.Handler {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // cannot happen: "dist" is a valid path
	}
	return handler(sub)
}

// handler serves the SPA from fsys, whose root is the build output directory.
func handler(fsys fs.FS) http.Handler {
	if _, err := fs.Stat(fsys, indexFile); err != nil {
		return notBuilt{}
	}
	return spa{fsys: fsys}
}

type notBuilt struct{}

func (notBuilt) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusServiceUnavailable)
	if r.Method != http.MethodHead {
		_, _ = w.Write([]byte(NotBuiltMessage))
	}
}

type spa struct {
	fsys fs.FS
}

func (s spa) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")

	name := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
	if name == "" || name == indexFile {
		s.serveIndex(w, r)
		return
	}
	if s.isFile(name) {
		if name == assetsDir || strings.HasPrefix(name, assetsDir+"/") {
			w.Header().Set("Cache-Control", immutableCache)
		} else {
			w.Header().Set("Cache-Control", noCache)
		}
		s.serveFile(w, r, name)
		return
	}
	// A missing hashed asset (an old tab after a deploy) must be a 404, not index.html
	// served as JavaScript; so must a missing dot-file.
	if strings.HasPrefix(name, assetsDir+"/") || hiddenPath(name) {
		http.NotFound(w, r)
		return
	}
	s.serveIndex(w, r)
}

// isFile reports whether name is a regular, non-hidden file in the build.
func (s spa) isFile(name string) bool {
	if hiddenPath(name) {
		return false
	}
	info, err := fs.Stat(s.fsys, name)
	return err == nil && info.Mode().IsRegular()
}

// hiddenPath reports whether any element of name starts with a dot (dist/.keep, ...).
func hiddenPath(name string) bool {
	for _, part := range strings.Split(name, "/") {
		if strings.HasPrefix(part, ".") {
			return true
		}
	}
	return false
}

func (s spa) serveIndex(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", noCache)
	s.serveFile(w, r, indexFile)
}

func (s spa) serveFile(w http.ResponseWriter, r *http.Request, name string) {
	data, err := fs.ReadFile(s.fsys, name)
	if err != nil {
		http.Error(w, "internal server error", http.StatusInternalServerError)
		return
	}
	// Embedded files have no modification time: an ETag from the content lets no-cache
	// revalidations end in 304. ServeContent picks the Content-Type from the extension and
	// handles HEAD, Range and If-None-Match.
	sum := sha256.Sum256(data)
	w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:12])+`"`)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(data))
}
