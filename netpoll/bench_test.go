package netpoll

import (
	"bufio"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"
)

// echoHandler answers every request with its own body, on the loop.
type echoHandler struct{}

func (echoHandler) Serve(_ ConnInfo, body []byte, r Responder) { r.Respond([][]byte{body}) }
func (echoHandler) ConnClosed(ConnInfo)                        {}

// BenchmarkRoundTrip measures small request/response round trips over one
// connection with depth requests pipelined, as a Kafka producer with
// max.in.flight does. Allocations include the client's (none per request).
func BenchmarkRoundTrip(b *testing.B) {
	const bodyBytes = 64
	for _, transport := range transports {
		for _, depth := range []int{1, 16} {
			b.Run(fmt.Sprintf("%s/depth=%d", transport, depth), func(b *testing.B) {
				s, err := Listen(Options{
					Addr:      "127.0.0.1:0",
					Transport: transport,
					Logger:    slog.New(slog.NewTextHandler(io.Discard, nil)),
				}, echoHandler{})
				if err != nil {
					b.Fatal(err)
				}
				defer func() {
					ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
					defer cancel()
					_ = s.Shutdown(ctx)
				}()
				nc, err := net.Dial("tcp", s.Addr().String())
				if err != nil {
					b.Fatal(err)
				}
				defer nc.Close()

				frame := make([]byte, frameHeaderBytes+bodyBytes)
				binary.BigEndian.PutUint32(frame, bodyBytes)
				resp := make([]byte, frameHeaderBytes+bodyBytes)
				br := bufio.NewReaderSize(nc, 64<<10)
				window := make(chan struct{}, depth)
				done := make(chan error, 1)
				b.SetBytes(2 * int64(len(frame)))
				b.ReportAllocs()
				b.ResetTimer()
				go func() { // reader: frees a window slot per response
					for range b.N {
						if _, err := io.ReadFull(br, resp); err != nil {
							done <- err
							return
						}
						<-window
					}
					done <- nil
				}()
				for range b.N {
					window <- struct{}{}
					if _, err := nc.Write(frame); err != nil {
						b.Fatal(err)
					}
				}
				if err := <-done; err != nil {
					b.Fatal(err)
				}
			})
		}
	}
}
