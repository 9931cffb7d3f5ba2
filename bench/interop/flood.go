// Streams N one-line dispatches over one ClassifyStream with grpc-go, one
// message per DATA frame as fast as flow control allows, and checks that
// every answer comes back in order. Builds offline with Debian's
// golang-google-grpc-dev (see docs/clients.md):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go run bench/interop/flood.go -n 100000
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	_ "google.golang.org/grpc/encoding/gzip"
	"google.golang.org/grpc/status"
)

// raw passes pre-encoded protobuf bytes through, so no generated code is needed.
type raw struct{}

func (raw) Marshal(v interface{}) ([]byte, error) { return *(v.(*[]byte)), nil }
func (raw) Unmarshal(data []byte, v interface{}) error {
	*(v.(*[]byte)) = append([]byte(nil), data...)
	return nil
}
func (raw) Name() string { return "proto" }

var _ encoding.Codec = raw{}

// field appends a length-delimited protobuf field.
func field(b []byte, num int, s string) []byte {
	b = append(b, byte(num<<3|2))
	n := len(s)
	for n >= 0x80 {
		b = append(b, byte(n)|0x80)
		n >>= 7
	}
	b = append(b, byte(n))
	return append(b, s...)
}

// firstString reads field 1 (the id) of a response.
func firstString(b []byte) (string, error) {
	if len(b) < 2 || b[0] != 0x0a {
		return "", errors.New("response without id")
	}
	n, i := 0, 1
	for shift := 0; i < len(b); shift += 7 {
		n |= int(b[i]&0x7f) << shift
		i++
		if b[i-1] < 0x80 {
			break
		}
	}
	if i+n > len(b) {
		return "", errors.New("truncated id")
	}
	return string(b[i : i+n]), nil
}

func main() {
	addr := flag.String("addr", "127.0.0.1:50051", "server address")
	n := flag.Int("n", 100000, "dispatches to stream")
	gzip := flag.Bool("gzip", false, "compress requests with gzip")
	service := flag.String("service", "dispatch.v1.DispatchTaggerService", "full service name")
	writeFirst := flag.Bool("write-all-first", false, "write every request before reading any answer")
	flag.Parse()

	conn, err := grpc.Dial(*addr, grpc.WithInsecure())
	if err != nil {
		fmt.Fprintln(os.Stderr, "dial:", err)
		os.Exit(1)
	}
	defer conn.Close()
	opts := []grpc.CallOption{grpc.ForceCodec(raw{})}
	if *gzip {
		opts = append(opts, grpc.UseCompressor("gzip"))
	}
	start := time.Now()
	desc := &grpc.StreamDesc{ClientStreams: true, ServerStreams: true}
	stream, err := conn.NewStream(context.Background(), desc, "/"+*service+"/ClassifyStream", opts...)
	if err != nil {
		fmt.Fprintln(os.Stderr, "open:", err)
		os.Exit(1)
	}
	sent := make(chan error, 1)
	send := func() {
		for i := 0; i < *n; i++ {
			msg := field(field(nil, 1, fmt.Sprintf("d%d", i)), 3, "Shares fell in Tokyo as the yen rose against the dollar.")
			if err := stream.SendMsg(&msg); err != nil {
				sent <- err
				return
			}
		}
		sent <- stream.CloseSend()
	}
	if *writeFirst {
		send()
	} else {
		go send()
	}
	got := 0
	for {
		var resp []byte
		err := stream.RecvMsg(&resp)
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Printf("grpc-go: FAIL after %d answers: %v (code %s)\n", got, err, status.Code(err))
			os.Exit(1)
		}
		id, err := firstString(resp)
		if err != nil || id != fmt.Sprintf("d%d", got) {
			fmt.Printf("grpc-go: FAIL answer %d has id %q (%v)\n", got, id, err)
			os.Exit(1)
		}
		got++
	}
	if err := <-sent; err != nil {
		fmt.Println("grpc-go: FAIL sending:", err)
		os.Exit(1)
	}
	if got != *n {
		fmt.Printf("grpc-go: FAIL %d answers for %d requests\n", got, *n)
		os.Exit(1)
	}
	fmt.Printf("grpc-go: OK %d answers in order in %.1fs\n", got, time.Since(start).Seconds())
}
