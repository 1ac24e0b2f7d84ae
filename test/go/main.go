// Command franzcheck drives one broker with franz-go (kgo and kadm): topic admin, configs, an
// idempotent acks=all producer with every codec, a consumer group with commits, group and offset
// admin, DeleteRecords. It prints "ok <check>" or "FAIL <check>: <why>" per check, so the test
// that runs it can report each one, and exits 1 when any failed.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

var failed bool

func check(name string, fn func() error) {
	if err := fn(); err != nil {
		failed = true
		fmt.Printf("FAIL %s: %v\n", name, err)
		return
	}
	fmt.Printf("ok %s\n", name)
}

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: franzcheck <bootstrap> <name-prefix>")
		os.Exit(2)
	}
	bootstrap, prefix := os.Args[1], os.Args[2]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	admClient, err := kgo.NewClient(kgo.SeedBrokers(bootstrap))
	if err != nil {
		fmt.Printf("FAIL client: %v\n", err)
		os.Exit(1)
	}
	defer admClient.Close()
	adm := kadm.NewClient(admClient)

	topic := prefix + "-topic"
	group := prefix + "-group"
	const partitions = 3
	const perCodec = 50

	check("create topic", func() error {
		res, err := adm.CreateTopics(ctx, partitions, 1, nil, topic)
		if err != nil {
			return err
		}
		return res.Error()
	})

	check("list and describe topic", func() error {
		details, err := adm.ListTopics(ctx, topic)
		if err != nil {
			return err
		}
		if err := details.Error(); err != nil {
			return err
		}
		d, ok := details[topic]
		if !ok || len(d.Partitions) != partitions {
			return fmt.Errorf("want %d partitions, got %+v", partitions, d)
		}
		for _, p := range d.Partitions {
			if p.Leader != 0 || len(p.Replicas) != 1 || len(p.ISR) != 1 {
				return fmt.Errorf("partition %d: leader %d replicas %v isr %v", p.Partition, p.Leader, p.Replicas, p.ISR)
			}
		}
		return nil
	})

	check("alter and describe topic config", func() error {
		alter := []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: kadm.StringPtr("3600000")}}
		res, err := adm.AlterTopicConfigs(ctx, alter, topic)
		if err != nil {
			return err
		}
		for _, r := range res {
			if r.Err != nil {
				return r.Err
			}
		}
		configs, err := adm.DescribeTopicConfigs(ctx, topic)
		if err != nil {
			return err
		}
		rc, err := configs.On(topic, nil)
		if err != nil {
			return err
		}
		if rc.Err != nil {
			return rc.Err
		}
		for _, c := range rc.Configs {
			if c.Key == "retention.ms" {
				if c.MaybeValue() != "3600000" {
					return fmt.Errorf("retention.ms = %q", c.MaybeValue())
				}
				return nil
			}
		}
		return errors.New("retention.ms missing from the described configs")
	})

	codecs := []struct {
		name  string
		codec kgo.CompressionCodec
	}{
		{"none", kgo.NoCompression()},
		{"gzip", kgo.GzipCompression()},
		{"snappy", kgo.SnappyCompression()},
		{"lz4", kgo.Lz4Compression()},
		{"zstd", kgo.ZstdCompression()},
	}
	sent := map[string]bool{}
	for _, c := range codecs {
		check("produce idempotent acks=all "+c.name, func() error {
			producer, err := kgo.NewClient(
				kgo.SeedBrokers(bootstrap),
				kgo.RequiredAcks(kgo.AllISRAcks()),
				kgo.ProducerBatchCompression(c.codec),
				kgo.DefaultProduceTopic(topic),
			)
			if err != nil {
				return err
			}
			defer producer.Close()
			records := make([]*kgo.Record, 0, perCodec)
			for i := 0; i < perCodec; i++ {
				value := fmt.Sprintf("%s-%d %s", c.name, i, "compressible compressible compressible")
				sent[value] = true
				records = append(records, &kgo.Record{
					Key:     []byte(fmt.Sprintf("key-%d", i)),
					Value:   []byte(value),
					Headers: []kgo.RecordHeader{{Key: "codec", Value: []byte(c.name)}},
				})
			}
			return producer.ProduceSync(ctx, records...).FirstErr()
		})
	}

	check("consume in a group and commit", func() error {
		consumer, err := kgo.NewClient(
			kgo.SeedBrokers(bootstrap),
			kgo.ConsumerGroup(group),
			kgo.ConsumeTopics(topic),
			kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
			kgo.DisableAutoCommit(),
		)
		if err != nil {
			return err
		}
		defer consumer.Close()
		seen := map[string]bool{}
		deadline := time.Now().Add(30 * time.Second)
		for len(seen) < len(sent) && time.Now().Before(deadline) {
			pollCtx, pollCancel := context.WithTimeout(ctx, 2*time.Second)
			fetches := consumer.PollFetches(pollCtx)
			pollCancel()
			for _, fe := range fetches.Errors() {
				if !errors.Is(fe.Err, context.DeadlineExceeded) {
					return fmt.Errorf("fetch %s/%d: %w", fe.Topic, fe.Partition, fe.Err)
				}
			}
			fetches.EachRecord(func(r *kgo.Record) {
				if len(r.Headers) != 1 || r.Headers[0].Key != "codec" {
					return
				}
				seen[string(r.Value)] = true
			})
		}
		if len(seen) != len(sent) {
			return fmt.Errorf("consumed %d of %d distinct records", len(seen), len(sent))
		}
		for v := range sent {
			if !seen[v] {
				return fmt.Errorf("record %q never consumed", v)
			}
		}
		if err := consumer.CommitUncommittedOffsets(ctx); err != nil {
			return err
		}
		// While this member is still in the group, it must be described as the one member.
		described, err := adm.DescribeGroups(ctx, group)
		if err != nil {
			return err
		}
		g := described[group]
		if g.Err != nil {
			return g.Err
		}
		if g.State != "Stable" || g.ProtocolType != "consumer" || len(g.Members) != 1 {
			return fmt.Errorf("group described as state %q type %q with %d members", g.State, g.ProtocolType, len(g.Members))
		}
		return nil
	})

	check("list groups, committed offsets equal end offsets", func() error {
		listed, err := adm.ListGroups(ctx)
		if err != nil {
			return err
		}
		if _, ok := listed[group]; !ok {
			names := listed.Groups()
			sort.Strings(names)
			return fmt.Errorf("group %s not listed in %v", group, names)
		}
		committed, err := adm.FetchOffsets(ctx, group)
		if err != nil {
			return err
		}
		if err := committed.Error(); err != nil {
			return err
		}
		ends, err := adm.ListEndOffsets(ctx, topic)
		if err != nil {
			return err
		}
		if err := ends.Error(); err != nil {
			return err
		}
		var total int64
		var mismatch error
		ends.Each(func(o kadm.ListedOffset) {
			total += o.Offset
			c, ok := committed.Lookup(o.Topic, o.Partition)
			if !ok || c.At != o.Offset {
				mismatch = fmt.Errorf("partition %d: committed %+v, end %d", o.Partition, c.At, o.Offset)
			}
		})
		if mismatch != nil {
			return mismatch
		}
		if total != int64(len(codecs)*perCodec) {
			return fmt.Errorf("end offsets add up to %d, want %d", total, len(codecs)*perCodec)
		}
		return nil
	})

	check("delete records, start offset moves", func() error {
		var offsets kadm.Offsets
		offsets.AddOffset(topic, 0, 5, -1)
		res, err := adm.DeleteRecords(ctx, offsets)
		if err != nil {
			return err
		}
		if err := res.Error(); err != nil {
			return err
		}
		starts, err := adm.ListStartOffsets(ctx, topic)
		if err != nil {
			return err
		}
		s, ok := starts.Lookup(topic, 0)
		if !ok || s.Err != nil || s.Offset != 5 {
			return fmt.Errorf("start offset of partition 0: %+v", s)
		}
		return nil
	})

	check("delete topic", func() error {
		res, err := adm.DeleteTopics(ctx, topic)
		if err != nil {
			return err
		}
		if err := res.Error(); err != nil {
			return err
		}
		details, err := adm.ListTopics(ctx)
		if err != nil {
			return err
		}
		if details.Has(topic) {
			return errors.New("topic still listed after delete")
		}
		return nil
	})

	if failed {
		os.Exit(1)
	}
}
