// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring

import (
	"bytes"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// DefaultPath is the device of the module's default ring.
const DefaultPath = "/dev/mpmcring"

// Ring is a ring mapped into this process, shared by its consumers. Its
// methods are safe for concurrent use.
type Ring struct {
	fd     int // -1: a ring over memory the caller owns (tests)
	path   string
	rdonly bool
	layout rawLayout
	v      *view
	mapped bool // cons and ro are ours to unmap

	mu        sync.Mutex
	consumers int  // open consumers: Close waits for none
	closed    bool // written under mu and fdMu, read under either
	// fdMu: Close takes it to close fd; every system call on fd holds it
	// shared, so no call reaches a number Close gave back (and the
	// kernel to another file).
	fdMu     sync.RWMutex
	memSlots uint32

	// closing: Close has begun (set before it ends WriteContext's waits
	// and waits for blocked Writes). WriteContext reads it, never mu or
	// fdMu, so that a Close pending behind a blocked Write cannot hold it.
	closing atomic.Bool

	// WriteContext's files, under wmu: idle ones to reuse, and those a
	// call is waiting on (Close ends their wait). Lock order: mu, wmu,
	// fdMu.
	wmu         sync.Mutex
	writers     []*os.File
	writersBusy map[*os.File]bool
	writePrio   uint32
	prioSet     bool // SetWritePriority was called: writers get writePrio
}

// Path turns a ring name into its device path: "" or "default" is
// /dev/mpmcring, a name is /dev/mpmcring-NAME, anything with a slash is
// taken as a path.
func Path(name string) string {
	switch {
	case name == "" || name == "default":
		return DefaultPath
	case strings.Contains(name, "/"):
		return name
	default:
		return DefaultPath + "-" + name
	}
}

// Open opens and maps a ring to consume from and write to. name is a path
// or a ring name (see Path).
func Open(name string) (*Ring, error) { return OpenWith(name, OpenOptions{}) }

// OpenReadOnly opens a ring to observe it: Stats, ListConsumers, Layout,
// AvailableBytes. It has no consumers and writes nothing.
func OpenReadOnly(name string) (*Ring, error) {
	return OpenWith(name, OpenOptions{ReadOnly: true})
}

// OpenOptions are the settings made when a ring is opened; the zero value
// is Open's. Settings added later become fields here, with a zero value
// that keeps today's behaviour, so that no Open function's signature ever
// changes.
type OpenOptions struct {
	// ReadOnly opens the ring to observe it, as OpenReadOnly.
	ReadOnly bool
}

// OpenWith opens and maps a ring with the given options. name is a path or
// a ring name (see Path).
func OpenWith(name string, o OpenOptions) (*Ring, error) {
	return open(Path(name), o.ReadOnly)
}

func openError(path string, err error) error {
	e := errnoOf(err)
	switch e {
	case syscall.ENOENT, syscall.ENODEV, syscall.ENXIO:
		return errorf(e, "%s: no such device: is the module loaded (modprobe mpmcring), and is the ring name right?", path)
	case syscall.EACCES, syscall.EPERM:
		return errorf(e, "%s: permission denied: the device is root-only by default; the udev rule can give a group access", path)
	case syscall.ENOTTY, syscall.EINVAL:
		return errorf(e, "%s: not an mpmcring device", path)
	default:
		return errorf(e, "%s: %v", path, e)
	}
}

func open(path string, rdonly bool) (*Ring, error) {
	if err := checkSharedAtomics(); err != nil {
		return nil, err
	}
	flags := syscall.O_RDWR
	if rdonly {
		flags = syscall.O_RDONLY
	}
	var (
		fd  int
		err error
	)
	for {
		fd, err = syscall.Open(path, flags|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return nil, openError(path, err)
	}
	r := &Ring{fd: fd, path: path, rdonly: rdonly}
	if err := r.mapRing(); err != nil {
		r.unmap()
		return nil, err
	}
	return r, nil
}

func (r *Ring) mapRing() error {
	l := &r.layout
	if err := ioctl(r.fd, iocInfo, unsafe.Pointer(l)); err != nil {
		return openError(r.path, err)
	}
	if err := checkLayout(l); err != nil {
		return err
	}
	prot := syscall.PROT_READ | syscall.PROT_WRITE
	if r.rdonly {
		prot = syscall.PROT_READ
	}
	cons, err := syscall.Mmap(r.fd, offCons, int(l.ConsSize), prot, syscall.MAP_SHARED)
	if err != nil {
		return errorf(errnoOf(err), "%s: mapping the consumer area: %v", r.path, err)
	}
	r.mapped = true
	r.v = &view{cons: cons}
	ro, err := syscall.Mmap(r.fd, offRO, int(l.ROSize), syscall.PROT_READ, syscall.MAP_SHARED)
	if err != nil {
		return errorf(errnoOf(err), "%s: mapping the ring: %v", r.path, err)
	}
	r.v.ro = ro
	if !bytes.Equal(ro[:layoutSize], l.bytes()) {
		return errorf(syscall.EPROTO, "%s: the mapped layout differs from the one the device reported", r.path)
	}
	r.v = newView(l, cons, ro)
	return nil
}

func (r *Ring) unmap() {
	if r.mapped && r.v != nil {
		if r.v.cons != nil {
			syscall.Munmap(r.v.cons)
		}
		if r.v.ro != nil {
			syscall.Munmap(r.v.ro)
		}
	}
	r.v = nil
	if r.fd >= 0 {
		syscall.Close(r.fd)
		r.fd = -1
	}
}

// openMemory makes a Ring over memory the caller owns: what tests and the
// fuzzer run the consumer over. cons and ro must stay alive and hold at
// least the layout's cons_size and ro_size bytes, 8-byte aligned.
func openMemory(cons, ro []byte, l *rawLayout) (*Ring, error) {
	if err := checkLayout(l); err != nil {
		return nil, err
	}
	if uint64(len(cons)) < l.ConsSize || uint64(len(ro)) < l.ROSize {
		return nil, errorf(syscall.EINVAL, "memory smaller than the layout")
	}
	r := &Ring{fd: -1, path: "(memory)", layout: *l}
	r.v = newView(&r.layout, cons[:l.ConsSize], ro[:l.ROSize])
	return r, nil
}

// Close unmaps the ring and closes its file. It fails with EBUSY while
// consumers of the ring are open: close them first (their records live in
// the mapping). It waits for Write, Writev and the ioctls in progress
// (a Write blocked on a full ring included); after it they return
// ErrClosed. WriteContext calls, parked or new, end with ErrClosed as soon
// as Close begins, before it waits for those.
func (r *Ring) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	if r.consumers > 0 {
		return errorf(syscall.EBUSY, "%s: %d consumers still open: close them before the ring", r.path, r.consumers)
	}
	// WriteContext's calls end now, not after the blocked Writes below.
	r.closing.Store(true)
	r.closeWriters()
	r.fdMu.Lock()
	defer r.fdMu.Unlock()
	r.closed = true
	r.unmap()
	return nil
}

// withFd runs fn with the ring's device file held open: ErrClosed after
// Close, EBADF for a ring in memory.
func (r *Ring) withFd(fn func(fd int) error) error {
	r.fdMu.RLock()
	defer r.fdMu.RUnlock()
	if r.closed {
		return r.closedError()
	}
	if r.fd < 0 {
		return errorf(syscall.EBADF, "this ring has no device file (a ring in memory)")
	}
	return fn(r.fd)
}

// hungUp says whether the ring's device file reports a hangup (the ring
// was destroyed); false for a ring in memory, a closed ring, or when poll
// fails.
func (r *Ring) hungUp() bool {
	hup := false
	r.withFd(func(fd int) error { hup = fdHungUp(fd); return nil })
	return hup
}

// fdHungUp is hungUp for a descriptor the caller holds (under fdMu).
func fdHungUp(fd int) bool {
	ev, err := pollNow(uintptr(fd))
	return err == nil && ev&pollHup != 0
}

func (r *Ring) closedError() error {
	return errorf(syscall.EPIPE, "%s: the ring is closed", r.path)
}

// Layout tells the ring's identity and geometry.
func (r *Ring) Layout() Layout { return r.layout.public() }

// Fd is the ring's device file descriptor (-1 for a ring in memory).
func (r *Ring) Fd() int {
	r.fdMu.RLock()
	defer r.fdMu.RUnlock()
	return r.fd
}

// AvailableBytes is how many bytes are reserved past the head: records
// finished or being written that no consumer has claimed (0 when the head
// is corrupt).
func (r *Ring) AvailableBytes() uint64 {
	r.fdMu.RLock()
	defer r.fdMu.RUnlock()
	if r.closed {
		return 0
	}
	s := r.v.positions()
	if !r.v.headSane(s) {
		return 0
	}
	return s.prod - s.head
}

func (r *Ring) ioctl(req uintptr, arg unsafe.Pointer, what string) error {
	return r.withFd(func(fd int) error {
		if err := deviceIoctl(fd, req, arg); err != nil {
			return errorf(errnoOf(err), "%s: %s: %v", r.path, what, err)
		}
		return nil
	})
}

// Stats reads the ring's statistics.
func (r *Ring) Stats() (Stats, error) {
	var st Stats
	err := r.ioctl(iocStats, unsafe.Pointer(&st), "reading statistics")
	return st, err
}

// ListConsumers lists the attached consumers: slot, pid, records held and
// how long the oldest claim has stood still.
func (r *Ring) ListConsumers() ([]ConsumerInfo, error) {
	info := make([]ConsumerInfo, r.layout.MaxConsumers)
	req := rawConsumers{Max: uint32(len(info)), Info: uint64(uintptr(unsafe.Pointer(&info[0])))}
	err := r.ioctl(iocConsumers, unsafe.Pointer(&req), "listing the consumers")
	if err != nil {
		return nil, err
	}
	runtime.KeepAlive(info)
	if req.Count > req.Max {
		req.Count = req.Max
	}
	return info[:req.Count], nil
}

// SetWritePriority sets the class (Prio*) of the records Write, Writev
// and WriteContext produce: at most Layout.UserMaxPrio. A WriteContext
// already waiting for room may still write its record in the old class.
func (r *Ring) SetWritePriority(prio uint32) error {
	// Under mu: WriteContext's files get the same class, none missed.
	r.mu.Lock()
	defer r.mu.Unlock()
	err := r.ioctl(iocSetPrio, unsafe.Pointer(&prio), "setting the write priority")
	if err != nil && errnoOf(err) == syscall.EPERM && r.rdonly {
		return errorf(syscall.EPERM, "%s: setting the write priority: the ring was opened read-only (OpenReadOnly): writers need Open", r.path)
	}
	if err != nil && errnoOf(err) == syscall.EPERM {
		return errorf(syscall.EPERM, "%s: class %d is above what this ring lets writers use (%d)",
			r.path, prio, r.layout.UserMaxPrio)
	}
	if err != nil {
		return err
	}
	r.setWritersPrio(prio)
	return nil
}

func (r *Ring) writeError(err syscall.Errno) error {
	switch err {
	case syscall.EMSGSIZE:
		return errorf(err, "%s: record too large for this ring (max %d bytes, %d per call)",
			r.path, r.layout.MaxRecord, writeMaxBytes)
	case syscall.EAGAIN:
		return errorf(err, "%s: no room now (non-blocking write: the ring is full, or other producers kept winning; retry, or use WriteContext)", r.path)
	case syscall.EPIPE:
		return errorf(err, "%s: the ring was destroyed", r.path)
	default:
		return errorf(err, "%s: write: %v", r.path, err)
	}
}

// Write produces one record holding p (copied by the kernel), in the
// ring's write class. It waits while the ring is full. It implements
// io.Writer: one call, one record. An empty p produces no record (the
// kernel's write(2) of zero bytes does nothing, and records carry at
// least one byte): 0, nil.
//
// The wait is a blocking write(2): it holds an OS thread, not just a
// goroutine, and only room in the ring ends it: it takes no context or
// deadline, and Close of the ring does not end it but waits for it
// (WriteContext waits in the runtime's poller instead). A consumer that stands still can hold
// writers until its claim times out (Layout.ClaimTimeoutMs), so a program
// with many writers on a ring that may fill bounds how many write at once.
func (r *Ring) Write(p []byte) (int, error) {
	var n int
	err := r.withFd(func(fd int) error {
		for {
			var err error
			n, err = syscall.Write(fd, p)
			if err == syscall.EINTR {
				continue
			}
			if err != nil {
				n = 0
				return r.writeError(errnoOf(err))
			}
			return nil
		}
	})
	return n, err
}

// Writev produces one record per slice, all or none, with one system call
// (at most 64 records and 64 KiB in all). A record carries at least one
// byte: an empty slice is refused (EINVAL), and nothing is written. It
// waits for room as Write does, holding an OS thread.
func (r *Ring) Writev(records ...[]byte) error {
	if len(records) > writevMaxRecords {
		return errorf(syscall.EINVAL, "%s: %d records in one writev, at most %d", r.path,
			len(records), writevMaxRecords)
	}
	// The module refuses an empty record before the last byte, and
	// counts none after it: refused here wherever it is, one rule.
	for i, p := range records {
		if len(p) == 0 {
			return errorf(syscall.EINVAL, "%s: record %d of %d in a writev is empty: a record carries at least one byte",
				r.path, i, len(records))
		}
	}
	return r.withFd(func(fd int) error {
		if len(records) == 0 {
			return nil
		}
		var iov [writevMaxRecords]syscall.Iovec
		for i, p := range records {
			iov[i].Base = &p[0]
			iov[i].SetLen(len(p))
		}
		for {
			_, _, e := syscall.Syscall(syscall.SYS_WRITEV, uintptr(fd),
				uintptr(unsafe.Pointer(&iov[0])), uintptr(len(records)))
			if e == syscall.EINTR {
				continue
			}
			if e != 0 {
				return r.writeError(e)
			}
			return nil
		}
	})
}

func sysStat(fi os.FileInfo, err error) (*syscall.Stat_t, bool) {
	if err != nil {
		return nil, false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return st, ok
}

// repair asks the kernel to check the head (MPMCRING_IOC_REPAIR): what a
// consumer does once on meeting a corrupt ring. False when there is no
// kernel to ask (a ring in memory).
func (r *Ring) repair() bool {
	return r.withFd(func(fd int) error {
		ioctl(fd, iocRepair, nil)
		return nil
	}) == nil
}

// testHookRoom, when set (by tests only, before any consumer runs), is
// called by room before it asks: a ring in memory has no kernel, and the
// tests count the asks. One nil check per ask, off the per-record path.
var testHookRoom func()

// room tells the kernel that a commit may have freed the room a waiting
// writer wants (MPMCRING_IOC_ROOM): it reclaims and wakes the writer now,
// not at its next tick. Best effort: an error changes nothing (the tick
// wakes the writer all the same); a ring in memory has no kernel to ask.
func (r *Ring) room() {
	if testHookRoom != nil {
		testHookRoom()
	}
	r.withFd(func(fd int) error {
		ioctl(fd, iocRoom, nil)
		return nil
	})
}

// attach takes a consumer slot: from the kernel, or for a ring in memory
// the next unused index.
func (r *Ring) attach() (uint32, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return 0, r.closedError()
	}
	if r.rdonly {
		return 0, errorf(syscall.EBADF, "%s: the ring was opened read-only (OpenReadOnly): consumers need Open", r.path)
	}
	var idx uint32
	if r.fd >= 0 {
		if err := ioctl(r.fd, iocAttach, unsafe.Pointer(&idx)); err != nil {
			switch e := errnoOf(err); e {
			case syscall.EUSERS:
				return 0, errorf(e, "%s: every consumer slot of the ring is taken (max_consumers=%d)",
					r.path, r.layout.MaxConsumers)
			case syscall.EDQUOT:
				return 0, errorf(e, "%s: this Ring's open file holds max_per_file=%d consumer slots (read(2) on it takes one too): open the ring again for more",
					r.path, r.layout.MaxPerFile)
			default:
				return 0, errorf(e, "%s: attaching a consumer: %v", r.path, e)
			}
		}
	} else {
		idx = r.memSlots
		r.memSlots++
	}
	if idx >= r.layout.MaxConsumers {
		// A kernel's index past the slots: given back, as the C
		// library does, so that it is not held until Close.
		if r.fd >= 0 {
			ioctl(r.fd, iocDetach, unsafe.Pointer(&idx))
		}
		return 0, errorf(syscall.EUSERS, "%s: every consumer slot of the ring is taken", r.path)
	}
	if r.fd < 0 {
		atomic.StoreUint64(r.v.slotWord(idx, slotStart), slotIdle)
	}
	r.consumers++
	return idx, nil
}

// detach gives the slot back; the kernel's error, if it refused, says
// which slot stays attached (until the ring's file is closed).
func (r *Ring) detach(idx uint32) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.consumers--
	if r.fd < 0 {
		return nil
	}
	if err := ioctl(r.fd, iocDetach, unsafe.Pointer(&idx)); err != nil {
		return errorf(errnoOf(err), "%s: detaching consumer slot %d: %v (the slot stays attached until the ring is closed)", r.path, idx, err)
	}
	return nil
}

// reopen opens the ring's device again, read-only and for the runtime's
// poller: each consumer waits on its own file, so that its deadline and
// watermark are its own. It opens the file the ring holds
// (/proc/self/fd/N), not the path: a relative path after a chdir or a
// renamed node still reach the same device. The open checks permission
// again, so a process that drops privileges opens it first (PrepareWait).
func (r *Ring) reopen() (*os.File, error) { return r.reopenFlags(os.O_RDONLY, "to wait on it") }

// reopenFlags is reopen for a file opened with flags (a writer's:
// O_WRONLY), for what it says.
func (r *Ring) reopenFlags(flags int, what string) (*os.File, error) {
	r.fdMu.RLock()
	defer r.fdMu.RUnlock()
	if r.closed {
		return nil, r.closedError()
	}
	if r.fd < 0 {
		return nil, errorf(syscall.EBADF, "this ring has no file to wait on")
	}
	// The ring's device number, and the name sysfs gives whatever has it
	// now: after a destroy the minor goes to the next misc device
	// registered, and the open below would run that driver's open.
	var a syscall.Stat_t
	if err := syscall.Fstat(r.fd, &a); err != nil {
		return nil, errorf(errnoOf(err), "%s: looking at the ring's own file: %v", r.path, err)
	}
	if a.Mode&syscall.S_IFMT == syscall.S_IFCHR && !miscNamedRing(uint64(a.Rdev)) {
		return nil, errNotTheRing(r.path)
	}
	name := "/proc/self/fd/" + strconv.Itoa(r.fd)
	f, err := os.OpenFile(name, flags, 0)
	if errnoOf(err) == syscall.ENOENT {
		name = r.path // no /proc: the path, checked below
		f, err = os.OpenFile(name, flags, 0)
	}
	if err != nil {
		e := errnoOf(err)
		if e == syscall.EACCES || e == syscall.EPERM {
			return nil, errorf(e, "%s: opening the device again %s: permission denied (a process that drops privileges after Open must call Consumer.PrepareWait, or Ring.PrepareWriteContext, before it does)", r.path, what)
		}
		return nil, errorf(e, "%s: opening the device again %s (%s): %v", r.path, what, name, err)
	}
	// Not f.Fd(): it would put the file back in blocking mode.
	fi, err := f.Stat()
	b, ok := sysStat(fi, err)
	// The name again: the minor may have changed hands between the look
	// above and the open (then the open ran another driver's open, but
	// this file gets no ring ioctl).
	if !ok || a.Rdev != b.Rdev ||
		(b.Mode&syscall.S_IFMT == syscall.S_IFCHR && !miscNamedRing(uint64(b.Rdev))) ||
		!reopenedIsRing(f, &r.layout) ||
		(r.layout.ID == 0 && fdHungUp(r.fd)) {
		f.Close()
		return nil, errNotTheRing(r.path)
	}
	return f, nil
}

func errNotTheRing(path string) error {
	return errorf(syscall.ENODEV, "%s: the device at this path is not the ring's any more (destroyed and created again?)", path)
}

// reopenedIsRing is sameRing (tests whose "device" is a pipe stand in).
var reopenedIsRing = sameRing

// sameRing says whether f, the ring's device opened again, is the ring the
// layout l is of. The device number cannot say: a destroyed ring's minor
// goes to the next misc device registered, another ring too, and
// /proc/self/fd/N opens whatever now has it (reopenFlags looks at the
// name sysfs gives that number before the open and after it, so this
// ioctl goes to a device named as a ring's). INFO's id (ABI 1.2) is handed out cyclically, not soon reused.
// A module of ABI 1.1 gives no id: a ring destroyed and made again with
// the same name and sizes passes as the old one, unless the old ring's
// own file has hung up by then (reopenFlags looks: most of that window,
// not all of it).
func sameRing(f *os.File, l *rawLayout) bool {
	rc, err := f.SyscallConn()
	if err != nil {
		return false
	}
	var got rawLayout
	var ierr error
	if err := rc.Control(func(fd uintptr) {
		ierr = ioctl(int(fd), iocInfo, unsafe.Pointer(&got))
	}); err != nil || ierr != nil {
		return false
	}
	return got.Magic == l.Magic && got.ID == l.ID && got.Name == l.Name &&
		got.DataSize == l.DataSize && got.ConsSize == l.ConsSize && got.ROSize == l.ROSize
}

// sysDevChar is where sysfs names character devices by number (tests
// point it elsewhere).
var sysDevChar = "/sys/dev/char/"

// miscNamedRing says whether the character device rdev is named as the
// module names its rings (mpmcring, mpmcring-NAME) in sysfs; true where
// sysfs cannot say (INFO decides then). rdev is decoded as the kernel
// encodes it for userspace (glibc's major() and minor()).
func miscNamedRing(rdev uint64) bool {
	major := (rdev>>8)&0xfff | (rdev>>32)&0xfffff000
	minor := rdev&0xff | (rdev>>12)&0xffffff00
	link, err := os.Readlink(sysDevChar + strconv.FormatUint(major, 10) + ":" +
		strconv.FormatUint(minor, 10))
	if err != nil {
		return true
	}
	name := link[strings.LastIndexByte(link, '/')+1:]
	return name == "mpmcring" || strings.HasPrefix(name, "mpmcring-")
}
