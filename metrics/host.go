package metrics

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// hostReading is one look at the host's counters in /proc.
type hostReading struct {
	cpu                   cpuTimes
	memTotal, memUsed     uint64
	netRx, netTx          uint64
	blockRead, blockWrite uint64
}

// cpuTimes are the host's cumulative CPU times from /proc/stat, in ticks.
type cpuTimes struct {
	busy, total uint64
}

// cpuPercent is the share of the machine busy between prev and cur, 0-100.
// A zero prev gives the average since boot, so the first sample after start
// is meaningful rather than a false zero.
func cpuPercent(prev, cur cpuTimes) float64 {
	if cur.total <= prev.total || cur.busy < prev.busy {
		// No time passed, or the counters went back (they do not, short of
		// a reboot between readings): nothing to say.
		return 0
	}
	return min(float64(cur.busy-prev.busy)/float64(cur.total-prev.total)*100, 100)
}

// readHost reads the host's counters under root (normally /proc).
func readHost(root string) (hostReading, error) {
	var h hostReading
	var err error
	if h.cpu, err = readCPU(filepath.Join(root, "stat")); err != nil {
		return h, err
	}
	if h.memTotal, h.memUsed, err = readMemory(filepath.Join(root, "meminfo")); err != nil {
		return h, err
	}
	if h.netRx, h.netTx, err = readNetDev(filepath.Join(root, "net", "dev")); err != nil {
		return h, err
	}
	if h.blockRead, h.blockWrite, err = readDiskstats(filepath.Join(root, "diskstats")); err != nil {
		return h, err
	}
	return h, nil
}

// readCPU parses the aggregate "cpu" line of /proc/stat: user nice system
// idle iowait irq softirq steal [guest guest_nice]. Guest time is already
// counted in user and nice, so it is left out of the total.
func readCPU(path string) (cpuTimes, error) {
	var out cpuTimes
	err := eachLine(path, func(fields []string) (bool, error) {
		if len(fields) == 0 || fields[0] != "cpu" {
			return true, nil
		}
		if len(fields) < 5 {
			return false, fmt.Errorf("short cpu line (%d fields)", len(fields))
		}
		var idle uint64
		for i, f := range fields[1:min(len(fields), 9)] {
			v, err := strconv.ParseUint(f, 10, 64)
			if err != nil {
				return false, fmt.Errorf("cpu field %d: %w", i+1, err)
			}
			out.total += v
			// idle and iowait: waiting for the disk is not work done.
			if i == 3 || i == 4 {
				idle += v
			}
		}
		out.busy = out.total - idle
		return false, nil
	})
	if err == nil && out.total == 0 {
		err = fmt.Errorf("%s: no cpu line", path)
	}
	return out, err
}

// readMemory returns MemTotal and MemTotal−MemAvailable from
// /proc/meminfo, in bytes. MemAvailable counts reclaimable cache as free,
// which is what "used" should mean to someone sizing apps.
func readMemory(path string) (total, used uint64, err error) {
	var avail uint64
	var haveTotal, haveAvail bool
	err = eachLine(path, func(fields []string) (bool, error) {
		if len(fields) < 2 {
			return true, nil
		}
		var dst *uint64
		switch fields[0] {
		case "MemTotal:":
			dst, haveTotal = &total, true
		case "MemAvailable:":
			dst, haveAvail = &avail, true
		default:
			return true, nil
		}
		v, err := strconv.ParseUint(fields[1], 10, 64)
		if err != nil {
			return false, fmt.Errorf("%s %w", fields[0], err)
		}
		*dst = v * 1024 // the file says kB and means KiB
		return !(haveTotal && haveAvail), nil
	})
	if err != nil {
		return 0, 0, err
	}
	if !haveTotal || !haveAvail {
		return 0, 0, fmt.Errorf("%s: no MemTotal or MemAvailable", path)
	}
	if avail > total {
		avail = total
	}
	return total, total - avail, nil
}

// readNetDev sums received and transmitted bytes over the interfaces of
// /proc/net/dev. Loopback is left out, and so are Docker's own bridges and
// veth pairs: a container's traffic crosses its veth, the bridge and the
// uplink, and would be counted three times.
func readNetDev(path string) (rx, tx uint64, err error) {
	err = eachLine(path, func(fields []string) (bool, error) {
		// "eth0: 123 ..." or, with a long name or a large counter,
		// "eth0:123 ...": split on the colon, not on spaces.
		if len(fields) == 0 || !strings.Contains(fields[0], ":") {
			return true, nil // the two header lines
		}
		name, first, _ := strings.Cut(fields[0], ":")
		counters := fields[1:]
		if first != "" {
			counters = append([]string{first}, counters...)
		}
		if virtualInterface(name) {
			return true, nil
		}
		if len(counters) < 9 {
			return false, fmt.Errorf("interface %s: short line", name)
		}
		r, err := strconv.ParseUint(counters[0], 10, 64)
		if err != nil {
			return false, fmt.Errorf("interface %s rx: %w", name, err)
		}
		t, err := strconv.ParseUint(counters[8], 10, 64)
		if err != nil {
			return false, fmt.Errorf("interface %s tx: %w", name, err)
		}
		rx, tx = rx+r, tx+t
		return true, nil
	})
	return rx, tx, err
}

func virtualInterface(name string) bool {
	return name == "lo" || name == "docker0" ||
		strings.HasPrefix(name, "veth") || strings.HasPrefix(name, "br-")
}

// readDiskstats sums sectors read and written (fields 6 and 10, always
// 512-byte units whatever the device's sector size) over whole disks.
// Partitions, device-mapper, md, loop and RAM devices are left out: their
// I/O is also counted on the disk below them.
func readDiskstats(path string) (read, written uint64, err error) {
	type dev struct {
		name        string
		read, write uint64
	}
	var devs []dev
	names := map[string]bool{}
	err = eachLine(path, func(fields []string) (bool, error) {
		if len(fields) < 10 {
			return true, nil
		}
		name := fields[2]
		r, err := strconv.ParseUint(fields[5], 10, 64)
		if err != nil {
			return false, fmt.Errorf("disk %s sectors read: %w", name, err)
		}
		w, err := strconv.ParseUint(fields[9], 10, 64)
		if err != nil {
			return false, fmt.Errorf("disk %s sectors written: %w", name, err)
		}
		devs = append(devs, dev{name, r, w})
		names[name] = true
		return true, nil
	})
	if err != nil {
		return 0, 0, err
	}
	for _, d := range devs {
		if stackedDevice(d.name) || isPartition(d.name, names) {
			continue
		}
		read += d.read * 512
		written += d.write * 512
	}
	return read, written, nil
}

func stackedDevice(name string) bool {
	for _, p := range []string{"loop", "ram", "zram", "dm-", "md", "nbd"} {
		if strings.HasPrefix(name, p) {
			return true
		}
	}
	return false
}

// isPartition reports whether name is a partition of another device in the
// file: sda1 of sda, nvme0n1p2 of nvme0n1, mmcblk0p1 of mmcblk0. /proc has
// no flag for it and /sys may not be there (tests, some containers).
func isPartition(name string, names map[string]bool) bool {
	rest := strings.TrimRight(name, "0123456789")
	if rest == name || rest == "" {
		return false
	}
	if names[rest] {
		return true
	}
	base, ok := strings.CutSuffix(rest, "p")
	return ok && names[base]
}

// eachLine calls f with the fields of each line of path until f says stop.
func eachLine(path string, f func(fields []string) (more bool, err error)) error {
	file, err := os.Open(path)
	if err != nil {
		return err
	}
	defer file.Close()
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		more, err := f(strings.Fields(sc.Text()))
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if !more {
			return nil
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}
