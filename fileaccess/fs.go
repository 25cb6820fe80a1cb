package fileaccess

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/pkg/sftp"
)

// user is who an SFTP session acts as.
type user struct {
	id    string
	admin bool
}

// fsys serves the SFTP requests of one session. The client sees a virtual
// root whose entries are the locations of the apps the user may see; below
// /<location> is the app's data directory.
//
// Every access inside an app goes through an os.Root opened on the app's
// data directory: it resolves "..", absolute paths and symlinks itself and
// refuses any that leave the directory, without the check-then-use race of
// resolving symlinks first and opening the result afterwards (an app can
// swap a symlink in between).
//
// The SFTP server may call it from several goroutines at once.
type fsys struct {
	srv  *Server
	ctx  context.Context
	log  *slog.Logger
	user user
}

// errReadOnly answers changes to the virtual root and to app directories
// themselves: apps are installed and removed by berth, not over SFTP.
var errReadOnly = sftp.ErrSSHFxPermissionDenied

// split turns a client path into an app location and a path relative to
// the app's data directory ("." for the directory itself). The location is
// "" for the virtual root.
func split(p string) (loc, rel string) {
	p = strings.TrimPrefix(path.Clean("/"+p), "/")
	if p == "" {
		return "", ""
	}
	loc, rel, _ = strings.Cut(p, "/")
	if rel == "" {
		rel = "."
	}
	return loc, rel
}

// dataDir is where the app with id keeps its data; it must match
// app.DataDir. IDs come from the database, but one with a separator would
// point elsewhere, so those are refused.
func (s *Server) dataDir(id string) (string, bool) {
	if id == "" || id == "." || id == ".." || strings.ContainsAny(id, `/\`) {
		return "", false
	}
	return filepath.Join(s.appsDir, id, "data"), true
}

// visible returns the directories the user sees now, by their name in the
// root: the apps' data by location and the volumes as "@<name>". Asked on
// every request, so that new apps and operator changes apply to open
// sessions too.
func (f *fsys) visible() (map[string]string, error) {
	apps, err := f.srv.users.VisibleApps(f.ctx, f.user.id, f.user.admin)
	if err != nil {
		f.log.Error("sftp: list visible apps", "err", err)
		// The cause stays in the log: it is no business of the client.
		return nil, sftp.ErrSSHFxFailure
	}
	vols, err := f.srv.users.VisibleVolumes(f.ctx, f.user.id, f.user.admin)
	if err != nil {
		f.log.Error("sftp: list visible volumes", "err", err)
		return nil, sftp.ErrSSHFxFailure
	}
	dirs := make(map[string]string, len(apps)+len(vols))
	for loc, id := range apps {
		if dir, ok := f.srv.dataDir(id); ok && !strings.HasPrefix(loc, "@") {
			dirs[loc] = dir
		} else {
			f.log.Error("sftp: app has an unusable ID or location", "app", id, "location", loc)
		}
	}
	for name, path := range vols {
		dirs["@"+name] = path
	}
	return dirs, nil
}

// openApp opens the data directory of the app at loc, if the user sees it.
func (f *fsys) openApp(loc string) (*os.Root, error) {
	dirs, err := f.visible()
	if err != nil {
		return nil, err
	}
	dir, ok := dirs[loc]
	if !ok {
		return nil, notExist("/" + loc)
	}
	// The data directory itself is opened by its full path, so it may be a
	// symlink or mount point of its own (apps with data elsewhere).
	root, err := os.OpenRoot(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, notExist("/" + loc) // installing or uninstalling
		}
		f.log.Error("sftp: open app data", "dir", dir, "err", err)
		return nil, sftp.ErrSSHFxFailure
	}
	return root, nil
}

func notExist(p string) error {
	return &fs.PathError{Op: "open", Path: p, Err: fs.ErrNotExist}
}

// target resolves a client path for a change inside an app: the virtual
// root and the app directories themselves are read-only.
func (f *fsys) target(p string) (*os.Root, string, error) {
	loc, rel := split(p)
	if loc == "" || rel == "." {
		return nil, "", errReadOnly
	}
	root, err := f.openApp(loc)
	if err != nil {
		return nil, "", err
	}
	return root, rel, nil
}

// Fileread implements sftp.FileReader.
func (f *fsys) Fileread(r *sftp.Request) (io.ReaderAt, error) {
	loc, rel := split(r.Filepath)
	if loc == "" {
		return nil, errReadOnly
	}
	root, err := f.openApp(loc)
	if err != nil {
		return nil, err
	}
	defer root.Close() // the file stays open without its root
	return root.Open(rel)
}

// Filewrite implements sftp.FileWriter.
func (f *fsys) Filewrite(r *sftp.Request) (io.WriterAt, error) {
	return f.OpenFile(r)
}

// OpenFile implements sftp.OpenFileWriter, for handles read and written.
func (f *fsys) OpenFile(r *sftp.Request) (sftp.WriterAtReaderAt, error) {
	root, rel, err := f.target(r.Filepath)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	pf := r.Pflags()
	var flag int
	switch {
	case pf.Read && pf.Write:
		flag = os.O_RDWR
	case pf.Write:
		flag = os.O_WRONLY
	default:
		flag = os.O_RDONLY
	}
	// Append is left out: the SFTP server writes at explicit offsets,
	// which O_APPEND would override.
	if pf.Creat {
		flag |= os.O_CREATE
	}
	if pf.Trunc {
		flag |= os.O_TRUNC
	}
	if pf.Excl {
		flag |= os.O_EXCL
	}
	// The umask decides the final mode, as for any file berth creates.
	return root.OpenFile(rel, flag, 0o666)
}

// Filecmd implements sftp.FileCmder.
func (f *fsys) Filecmd(r *sftp.Request) error {
	switch r.Method {
	case "Rename":
		return f.rename(r, false)
	case "Symlink", "Link":
		// Links made here would be followed by the app, inside its
		// container, where they may mean something else entirely.
		return sftp.ErrSSHFxOpUnsupported
	}
	root, rel, err := f.target(r.Filepath)
	if err != nil {
		return err
	}
	defer root.Close()
	switch r.Method {
	case "Setstat":
		return setstat(root, rel, r)
	case "Mkdir":
		return root.Mkdir(rel, 0o777)
	case "Rmdir", "Remove":
		fi, err := root.Lstat(rel)
		if err != nil {
			return err
		}
		// os.Remove takes files and empty directories alike; SFTP clients
		// expect each request to remove only its own kind.
		if fi.IsDir() != (r.Method == "Rmdir") {
			if fi.IsDir() {
				return &fs.PathError{Op: "remove", Path: r.Filepath, Err: errors.New("is a directory")}
			}
			return &fs.PathError{Op: "rmdir", Path: r.Filepath, Err: errors.New("not a directory")}
		}
		return root.Remove(rel)
	}
	return sftp.ErrSSHFxOpUnsupported
}

// PosixRename implements sftp.PosixRenameFileCmder: a rename that replaces
// its target.
func (f *fsys) PosixRename(r *sftp.Request) error {
	return f.rename(r, true)
}

func (f *fsys) rename(r *sftp.Request, replace bool) error {
	fromLoc, _ := split(r.Filepath)
	toLoc, _ := split(r.Target)
	if fromLoc != toLoc {
		// Each app is its own root; a move between two is a copy the
		// client can do itself.
		return &fs.PathError{Op: "rename", Path: r.Filepath, Err: errors.New("cannot move between apps")}
	}
	root, from, err := f.target(r.Filepath)
	if err != nil {
		return err
	}
	defer root.Close()
	_, to := split(r.Target)
	if to == "." {
		return errReadOnly
	}
	if !replace {
		// SFTP v3 rename must not overwrite. The check races with other
		// writers, which at worst makes this a POSIX rename.
		if _, err := root.Lstat(to); err == nil {
			return &fs.PathError{Op: "rename", Path: r.Target, Err: fs.ErrExist}
		}
	}
	return root.Rename(from, to)
}

func setstat(root *os.Root, rel string, r *sftp.Request) error {
	flags := r.AttrFlags()
	attrs := r.Attributes()
	if flags.Size {
		file, err := root.OpenFile(rel, os.O_WRONLY, 0)
		if err != nil {
			return err
		}
		err = file.Truncate(int64(attrs.Size))
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	if flags.Permissions {
		// Only permission bits: setuid and friends on files in app data
		// would be a way to gain privileges on the host.
		if err := root.Chmod(rel, attrs.FileMode().Perm()); err != nil {
			return err
		}
	}
	if flags.Acmodtime {
		if err := root.Chtimes(rel, attrs.AccessTime(), attrs.ModTime()); err != nil {
			return err
		}
	}
	// UidGid is ignored, not refused: files keep the ownership of berth's
	// process by design, and clients (WinSCP, sftp -p) send it routinely,
	// so failing would fail their uploads.
	return nil
}

// Filelist implements sftp.FileLister.
func (f *fsys) Filelist(r *sftp.Request) (sftp.ListerAt, error) {
	return f.list(r, false)
}

// Lstat implements sftp.LstatFileLister.
func (f *fsys) Lstat(r *sftp.Request) (sftp.ListerAt, error) {
	return f.list(r, true)
}

func (f *fsys) list(r *sftp.Request, lstat bool) (sftp.ListerAt, error) {
	loc, rel := split(r.Filepath)
	if loc == "" {
		switch r.Method {
		case "List":
			return f.listRoot()
		case "Stat", "Lstat":
			return listerAt{rootInfo{}}, nil
		}
		return nil, sftp.ErrSSHFxOpUnsupported
	}
	root, err := f.openApp(loc)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	switch r.Method {
	case "List":
		dir, err := root.Open(rel)
		if err != nil {
			return nil, err
		}
		defer dir.Close()
		infos, err := dir.Readdir(-1)
		if err != nil {
			return nil, err
		}
		return listerAt(infos), nil
	case "Stat", "Lstat":
		var fi fs.FileInfo
		if lstat {
			fi, err = root.Lstat(rel)
		} else {
			fi, err = root.Stat(rel)
		}
		if err != nil {
			return nil, err
		}
		if rel == "." {
			fi = renamed{fi, loc}
		}
		return listerAt{fi}, nil
	case "Readlink":
		// Stat already follows links that stay inside the app; a link's
		// raw target would only tell clients about paths they cannot use.
		return nil, sftp.ErrSSHFxOpUnsupported
	}
	return nil, sftp.ErrSSHFxOpUnsupported
}

// listRoot lists the apps (by location) and volumes the user sees.
func (f *fsys) listRoot() (sftp.ListerAt, error) {
	apps, err := f.visible()
	if err != nil {
		return nil, err
	}
	locs := make([]string, 0, len(apps))
	for loc := range apps {
		locs = append(locs, loc)
	}
	slices.Sort(locs)
	infos := make([]fs.FileInfo, 0, len(locs))
	for _, loc := range locs {
		if l, _ := split(loc); l != loc {
			continue // not reachable as one path element
		}
		fi, err := os.Stat(apps[loc])
		if err != nil {
			// Not created yet or being removed: an entry that cannot be
			// opened would only confuse clients.
			continue
		}
		infos = append(infos, renamed{fi, loc})
	}
	return listerAt(infos), nil
}

// listerAt serves a listing already read in full.
type listerAt []fs.FileInfo

// ListAt implements sftp.ListerAt.
func (l listerAt) ListAt(dst []fs.FileInfo, off int64) (int, error) {
	if off >= int64(len(l)) {
		return 0, io.EOF
	}
	n := copy(dst, l[off:])
	if n < len(dst) || off+int64(n) == int64(len(l)) {
		return n, io.EOF
	}
	return n, nil
}

// renamed shows an app's data directory under the app's location.
type renamed struct {
	fs.FileInfo
	name string
}

func (r renamed) Name() string { return r.name }

// rootInfo describes the virtual root. It is read-only: apps come and go
// through berth.
type rootInfo struct{}

func (rootInfo) Name() string       { return "/" }
func (rootInfo) Size() int64        { return 0 }
func (rootInfo) Mode() fs.FileMode  { return fs.ModeDir | 0o555 }
func (rootInfo) ModTime() time.Time { return time.Time{} }
func (rootInfo) IsDir() bool        { return true }
func (rootInfo) Sys() any           { return nil }
