package metrics

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// fakeProc is the part of /proc the collector reads.
type fakeProc struct {
	cpu       string // the aggregate line's numbers: user nice system idle iowait irq softirq steal guest guest_nice
	memTotal  uint64 // kB
	memAvail  uint64 // kB
	netDev    string // the interface lines
	diskstats string
}

const (
	testNetDev = `    lo: 9999999     100    0    0    0     0          0         0  9999999     100    0    0    0     0       0          0
  eth0:    1000      10    0    0    0     0          0         0     2000      20    0    0    0     0       0          0
  wlan0:300 3 0 0 0 0 0 0 400 4 0 0 0 0 0 0
docker0: 555555 5 0 0 0 0 0 0 555555 5 0 0 0 0 0 0
vethab12: 777777 7 0 0 0 0 0 0 777777 7 0 0 0 0 0 0
br-0a1b2c: 888888 8 0 0 0 0 0 0 888888 8 0 0 0 0 0 0
`
	// sda and nvme0n1 are disks (10 and 100 sectors read, 20 and 200
	// written); everything else sits on them or is not a disk.
	testDiskstats = `   7       0 loop0 50 0 5000 0 0 0 0 0 0 0 0
   8       0 sda 5 0 10 0 6 0 20 0 0 0 0
   8       1 sda1 4 0 8 0 5 0 16 0 0 0 0
 259       0 nvme0n1 50 0 100 0 60 0 200 0 0 0 0 0 0 0 0 0 0
 259       1 nvme0n1p1 40 0 80 0 50 0 160 0 0 0 0 0 0 0 0 0 0
 253       0 dm-0 40 0 80 0 50 0 160 0 0 0 0
   9       0 md0 40 0 80 0 50 0 160 0 0 0 0
`
)

func writeProc(t *testing.T, root string, p fakeProc) {
	t.Helper()
	files := map[string]string{
		"stat":      fmt.Sprintf("cpu  %s\ncpu0 %s\nintr 1 2 3\nctxt 42\n", p.cpu, p.cpu),
		"meminfo":   fmt.Sprintf("MemTotal:       %d kB\nMemFree:          1000 kB\nMemAvailable:   %d kB\nBuffers:  1 kB\n", p.memTotal, p.memAvail),
		"net/dev":   "Inter-|   Receive                                                |  Transmit\n face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets errs drop fifo colls carrier compressed\n" + p.netDev,
		"diskstats": p.diskstats,
	}
	for name, content := range files {
		path := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestReadHost(t *testing.T) {
	root := t.TempDir()
	writeProc(t, root, fakeProc{
		cpu:       "100 0 50 800 50 0 0 0 30 0",
		memTotal:  4000,
		memAvail:  1000,
		netDev:    testNetDev,
		diskstats: testDiskstats,
	})
	got, err := readHost(root)
	if err != nil {
		t.Fatal(err)
	}
	want := hostReading{
		cpu:        cpuTimes{busy: 150, total: 1000}, // guest left out; idle+iowait not busy
		memTotal:   4000 * 1024,
		memUsed:    3000 * 1024,
		netRx:      1300, // eth0 + wlan0 (no space after the colon)
		netTx:      2400,
		blockRead:  (10 + 100) * 512,
		blockWrite: (20 + 200) * 512,
	}
	if got != want {
		t.Errorf("readHost:\n got %+v\nwant %+v", got, want)
	}
}

func TestReadHostErrors(t *testing.T) {
	tests := []struct {
		name string
		proc fakeProc
	}{
		{"no MemAvailable", fakeProc{cpu: "1 0 0 1 0 0 0 0", memTotal: 10}},
		{"bad cpu number", fakeProc{cpu: "1 x 0 1 0 0 0 0", memTotal: 10, memAvail: 5}},
		{"short net line", fakeProc{cpu: "1 0 0 1 0 0 0 0", memTotal: 10, memAvail: 5, netDev: "eth0: 1 2 3\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			writeProc(t, root, tt.proc)
			if tt.name == "no MemAvailable" {
				// writeProc always writes the line; drop it.
				if err := os.WriteFile(filepath.Join(root, "meminfo"), []byte("MemTotal: 10 kB\n"), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := readHost(root); err == nil {
				t.Error("readHost succeeded; want an error")
			}
		})
	}
	t.Run("missing", func(t *testing.T) {
		if _, err := readHost(t.TempDir()); err == nil {
			t.Error("readHost of an empty directory succeeded; want an error")
		}
	})
}

func TestCPUPercent(t *testing.T) {
	tests := []struct {
		name      string
		prev, cur cpuTimes
		want      float64
	}{
		{"since boot", cpuTimes{}, cpuTimes{busy: 250, total: 1000}, 25},
		{"delta", cpuTimes{busy: 100, total: 1000}, cpuTimes{busy: 400, total: 1400}, 75},
		{"idle", cpuTimes{busy: 100, total: 1000}, cpuTimes{busy: 100, total: 1200}, 0},
		{"no time passed", cpuTimes{busy: 100, total: 1000}, cpuTimes{busy: 100, total: 1000}, 0},
		{"counters reset", cpuTimes{busy: 100, total: 1000}, cpuTimes{busy: 10, total: 50}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cpuPercent(tt.prev, tt.cur); got != tt.want {
				t.Errorf("cpuPercent(%+v, %+v) = %v, want %v", tt.prev, tt.cur, got, tt.want)
			}
		})
	}
}
