package main_test

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"berth/storage/storagetest"
)

// Start-up time of `berth serve` to a ready /healthz, on a fresh and on an
// existing SQLite database, and its memory once idle. Figures only.
func BenchmarkServe(b *testing.B) {
	cfg := storagetest.Config(b, "sqlite3")
	var ready []time.Duration
	var rss int
	for i := range 5 {
		start := time.Now()
		s := startServe(b, cfg, "BERTH_ADMIN_PASSWORD=bench-password")
		if s == nil {
			b.Fatal("serve did not start")
		}
		for {
			resp, err := http.Get(s.url + "/healthz")
			if err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusOK {
					break
				}
			}
			time.Sleep(time.Millisecond)
		}
		ready = append(ready, time.Since(start))
		if i == 4 {
			time.Sleep(3 * time.Second)
			rss = vmRSS(s.cmd.Process.Pid)
		}
		_ = s.cmd.Process.Signal(os.Interrupt)
		<-s.done
	}
	b.ReportMetric(float64(ready[0].Milliseconds()), "fresh-db-ms")
	b.ReportMetric(float64(ready[len(ready)-1].Milliseconds()), "existing-db-ms")
	b.ReportMetric(float64(rss)/1024, "idle-rss-MiB")
	fmt.Printf("berth serve: ready in %d ms on a fresh database, %d ms on an existing one; idle RSS %.1f MiB\n",
		ready[0].Milliseconds(), ready[len(ready)-1].Milliseconds(), float64(rss)/1024)
}

// vmRSS returns a process's resident memory in KiB.
func vmRSS(pid int) int {
	b, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(pid), "status"))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			n, _ := strconv.Atoi(f[1])
			return n
		}
	}
	return 0
}
