// SPDX-License-Identifier: (LGPL-2.1-or-later OR MIT)

package mpmcring_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync"
	"syscall"
	"time"

	"mpmcring.dev/go/mpmcring"
)

func ExamplePath() {
	fmt.Println(mpmcring.Path(""))
	fmt.Println(mpmcring.Path("events"))
	fmt.Println(mpmcring.Path("/dev/mpmcring-events"))
	// Output:
	// /dev/mpmcring
	// /dev/mpmcring-events
	// /dev/mpmcring-events
}

// Errors carry an errno and a message; test them with errors.Is against
// the sentinels or the errno.
func ExampleError() {
	var err error = mpmcring.ErrStale
	fmt.Println(errors.Is(err, mpmcring.ErrStale), errors.Is(err, syscall.ESTALE))
	fmt.Println(errors.Is(mpmcring.ErrNoRecord, syscall.EAGAIN))
	// Output:
	// true true
	// true
}

// One consumer per goroutine, each reading batches in place and
// committing each batch with one store.
func ExampleConsumer_ReadBatch() {
	r, err := mpmcring.Open("") // /dev/mpmcring
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		c, err := r.NewConsumer()
		if err != nil {
			log.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer c.Close()
			for {
				b, err := c.ReadBatch(64, 1<<20)
				if errors.Is(err, mpmcring.ErrNoRecord) {
					if c.Wait(ctx) != nil {
						return // ctx done
					}
					continue
				}
				if err != nil {
					log.Print(err)
					return
				}
				for rec, ok := b.Next(); ok; rec, ok = b.Next() {
					_ = rec.Data // in place: valid until Commit
				}
				if err := c.Commit(); errors.Is(err, mpmcring.ErrStale) {
					log.Print("held too long: what was read may be overwritten")
				}
			}
		}()
	}
	wg.Wait()
}

// Consume calls a function for each record and commits after the last.
func ExampleConsumer_Consume() {
	r, err := mpmcring.Open("events")
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	c, err := r.NewConsumer()
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	n, err := c.Consume(256, func(rec mpmcring.Record) error {
		fmt.Printf("%d bytes, class %d\n", len(rec.Data), rec.Prio)
		return nil
	})
	fmt.Println(n, err)
	if l := c.Lost(); l.Dropped+l.Overwritten > 0 {
		fmt.Printf("lost %d records\n", l.Dropped+l.Overwritten)
	}
}

// A record that must outlive the commit is copied; what was computed from
// records read in place is trusted only once Validate (or Commit) says the
// claim still held.
func ExampleConsumer_Validate() {
	r, err := mpmcring.Open("")
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	c, err := r.NewConsumer()
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	rec, err := c.Read()
	if err != nil {
		log.Fatal(err)
	}
	kept := append([]byte(nil), rec.Data...)
	if err := c.Validate(); err != nil {
		log.Fatal(err) // ErrStale: kept may be torn
	}
	c.Commit()
	fmt.Println(len(kept))
}

func ExampleRing_Stats() {
	r, err := mpmcring.OpenReadOnly("")
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	st, err := r.Stats()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("produced %d, dropped %d, consumed %d, in the ring %d\n",
		st.ProducedRecords, st.DroppedTotal(), st.ConsumedRecords, st.InRingRecords)
}
