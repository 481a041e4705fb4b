// SPDX-License-Identifier: MIT

// Command mpmcring-jsonl prints the records of an mpmcring ring as JSON
// lines, one object per record, read in place by one or more consumer
// goroutines:
//
//	{"len":5,"prio":"normal","flags":1,"data_b64":"aGVsbG8="}
//
// Losses (records the ring dropped or overwrote before anyone read them)
// come as {"lost":{"dropped":N,"overwritten":M}} lines, each loss once.
//
//	go build && ./mpmcring-jsonl -ring events -follow -consumers 4
package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"

	"mpmcring.dev/go/mpmcring"
)

var prioNames = []string{"low", "normal", "critical"}

// appendRecord appends one record as a JSON line, encoding straight from
// the ring's memory.
func appendRecord(b []byte, rec mpmcring.Record) []byte {
	prio := "unknown"
	if int(rec.Prio) < len(prioNames) {
		prio = prioNames[rec.Prio]
	}
	b = append(b, `{"len":`...)
	b = strconv.AppendInt(b, int64(len(rec.Data)), 10)
	b = append(b, `,"prio":"`...)
	b = append(b, prio...)
	b = append(b, `","flags":`...)
	b = strconv.AppendInt(b, int64(rec.Flags), 10)
	b = append(b, `,"data_b64":"`...)
	n := len(b)
	b = append(b, make([]byte, base64.StdEncoding.EncodedLen(len(rec.Data)))...)
	base64.StdEncoding.Encode(b[n:], rec.Data)
	return append(b, "\"}\n"...)
}

// printer serializes whole batches onto stdout.
type printer struct {
	mu  sync.Mutex
	out *bufio.Writer
}

func (p *printer) write(b []byte) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if _, err := p.out.Write(b); err != nil {
		return err
	}
	// Out of the process before the records are released.
	return p.out.Flush()
}

// consume runs one consumer until the ring is empty (or, following, until
// ctx is done).
func consume(ctx context.Context, r *mpmcring.Ring, p *printer, follow bool) error {
	c, err := r.NewConsumer()
	if err != nil {
		return err
	}
	defer c.Close()
	var buf []byte
	for ctx.Err() == nil {
		b, err := c.ReadBatch(64, 1<<20)
		if errors.Is(err, mpmcring.ErrNoRecord) || errors.Is(err, mpmcring.ErrBusy) {
			if !follow && errors.Is(err, mpmcring.ErrNoRecord) {
				return reportLost(c, p)
			}
			if err := reportLost(c, p); err != nil {
				return err
			}
			if err := c.Wait(ctx); err != nil && ctx.Err() == nil {
				return err
			}
			continue
		}
		if errors.Is(err, mpmcring.ErrStale) {
			// Revoked while claimed: counted lost (reportLost
			// says so); claim again.
			c.Commit()
			continue
		}
		if err != nil {
			return err
		}
		buf = buf[:0]
		for rec, ok := b.Next(); ok; rec, ok = b.Next() {
			buf = appendRecord(buf, rec) // zero-copy: encoded from the ring
		}
		// Read, validate, then act: if the claim was revoked while we
		// encoded (held past the ring's claim timeout), the bytes may
		// have been overwritten under us, and nothing is printed.
		if err := c.Validate(); err != nil {
			fmt.Fprintln(os.Stderr, "mpmcring-jsonl: batch not printed:", err)
			c.Commit()
			continue
		}
		werr := p.write(buf)
		c.Commit() // ErrStale now is too late to matter: buf was validated
		if werr != nil {
			return werr
		}
	}
	return nil
}

func reportLost(c *mpmcring.Consumer, p *printer) error {
	l := c.Lost()
	if l.Dropped == 0 && l.Overwritten == 0 {
		return nil
	}
	return p.write([]byte(fmt.Sprintf(`{"lost":{"dropped":%d,"overwritten":%d}}`+"\n", l.Dropped, l.Overwritten)))
}

func main() {
	ring := flag.String("ring", "", `ring: "" is /dev/mpmcring, NAME is /dev/mpmcring-NAME, or a path`)
	follow := flag.Bool("follow", false, "wait for new records instead of stopping when the ring is empty")
	consumers := flag.Int("consumers", 1, "consumer goroutines")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	r, err := mpmcring.Open(*ring)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mpmcring-jsonl:", err)
		os.Exit(1)
	}
	p := &printer{out: bufio.NewWriterSize(os.Stdout, 1<<16)}
	errs := make(chan error, *consumers)
	var wg sync.WaitGroup
	for i := 0; i < *consumers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs <- consume(ctx, r, p, *follow)
		}()
	}
	wg.Wait()
	close(errs)
	code := 0
	for err := range errs {
		if err != nil {
			fmt.Fprintln(os.Stderr, "mpmcring-jsonl:", err)
			code = 1
		}
	}
	if err := r.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "mpmcring-jsonl:", err)
		code = 1
	}
	os.Exit(code)
}
