using System.Runtime.InteropServices;
using EmbedSharp.Diagnostics;
using StackExchange.Redis;

namespace EmbedSharp.Redis;

public sealed partial class RedisServingStore
{
    /// <summary>The HMGETs of one batch: block numbers, the unique-id indexes in each block's field order, replies.</summary>
    private sealed class Request(int[] blocks, int[][] members, Task<RedisValue[]>[] replies)
    {
        public int[] Blocks { get; } = blocks;

        public int[][] Members { get; } = members;

        public Task<RedisValue[]>[] Replies { get; } = replies;
    }

    /// <summary>A batch's distinct ids, where each is first written, and which were served from the cache.</summary>
    private sealed class Batch
    {
        private readonly long[] _ids;
        private readonly int[] _uniqueOf;
        private readonly long[] _unique;
        private readonly int[] _firstPosition;
        private readonly bool[] _hit;
        private readonly bool[] _missing;

        public Batch(ReadOnlySpan<long> ids)
        {
            _ids = ids.ToArray();
            _uniqueOf = new int[ids.Length];
            var index = new Dictionary<long, int>(ids.Length);
            var unique = new List<long>();
            var first = new List<int>();
            for (int i = 0; i < ids.Length; i++)
            {
                if (!index.TryGetValue(ids[i], out int u))
                {
                    u = unique.Count;
                    index.Add(ids[i], u);
                    unique.Add(ids[i]);
                    first.Add(i);
                }
                _uniqueOf[i] = u;
            }
            _unique = [.. unique];
            _firstPosition = [.. first];
            _hit = new bool[_unique.Length];
            _missing = new bool[_unique.Length];
        }

        public int UniqueCount => _unique.Length;

        public void Reset()
        {
            Array.Clear(_hit);
            Array.Clear(_missing);
        }

        public int LookupCache(HotRowCache? cache, Span<float> destination, int dims) =>
            cache is null ? 0 : cache.Lookup(_unique, _firstPosition, _hit, destination);

        /// <summary>Groups the cache misses by block (counting sort) and sends one HMGET per block without waiting.</summary>
        public Request Send(IDatabase db, RedisTableLayout layout, RedisKey[] keys, CommandFlags flags)
        {
            var count = new int[layout.Blocks];
            var blockOf = new int[_unique.Length];
            for (int u = 0; u < _unique.Length; u++)
            {
                if (_hit[u])
                    continue;
                blockOf[u] = layout.BlockOf(_unique[u]);
                count[blockOf[u]]++;
            }
            int used = 0;
            foreach (int c in count)
                used += c > 0 ? 1 : 0;
            var blocks = new int[used];
            var members = new int[used][];
            var slotOfBlock = new int[layout.Blocks];
            for (int b = 0, k = 0; b < layout.Blocks; b++)
            {
                if (count[b] == 0)
                    continue;
                blocks[k] = b;
                members[k] = new int[count[b]];
                slotOfBlock[b] = k++;
                count[b] = 0;
            }
            for (int u = 0; u < _unique.Length; u++)
            {
                if (_hit[u])
                    continue;
                int k = slotOfBlock[blockOf[u]];
                members[k][count[blockOf[u]]++] = u;
            }
            var replies = new Task<RedisValue[]>[used];
            for (int k = 0; k < used; k++)
            {
                var fields = new RedisValue[members[k].Length];
                for (int j = 0; j < fields.Length; j++)
                    fields[j] = _unique[members[k][j]];
                replies[k] = db.HashGetAsync(keys[blocks[k]], fields, flags);
            }
            return new Request(blocks, members, replies);
        }

        /// <summary>Decodes every reply into the first position of its id; returns the number of missing ids and the first position of one.</summary>
        public int Decode(Request request, RedisTableLayout layout, Span<float> destination, out int firstMissing)
        {
            int dims = layout.Dims, rowBytes = layout.RowBytes, missing = 0;
            firstMissing = int.MaxValue;
            for (int k = 0; k < request.Blocks.Length; k++)
            {
                RedisValue[] values = request.Replies[k].Result;
                int[] members = request.Members[k];
                if (values.Length != members.Length)
                    throw new RedisStoreException(ThrowHelper.Format("redis.gather",
                        $"HMGET of {layout.BlockKey(request.Blocks[k])} returned {values.Length} values for {members.Length} fields; the server is not a Redis this library supports"));
                for (int j = 0; j < values.Length; j++)
                {
                    int u = members[j];
                    Span<float> row = destination.Slice(_firstPosition[u] * dims, dims);
                    if (values[j].IsNull)
                    {
                        missing++;
                        firstMissing = Math.Min(firstMissing, _firstPosition[u]);
                        _missing[u] = true;
                        row.Clear();
                        continue;
                    }
                    ReadOnlySpan<byte> bytes = ((ReadOnlyMemory<byte>)values[j]).Span;
                    if (bytes.Length != rowBytes)
                        throw new RedisStoreException(ThrowHelper.Format("redis.gather",
                            $"id {_unique[u]} in {layout.BlockKey(request.Blocks[k])} holds {bytes.Length} bytes, but {RedisTableLayout.FormatName(layout.Format)} rows of {dims} dims hold {rowBytes}; the key was not written by RedisTableWriter for this layout — republish the table"));
                    RowCodec.Decode(layout.Format, bytes, row);
                }
            }
            return missing;
        }

        /// <summary>Adds the rows read to the cache and copies each distinct row to its repeated positions.</summary>
        public void Finish(HotRowCache? cache, Span<float> destination, int dims)
        {
            if (cache is not null)
            {
                var added = new List<long>();
                var at = new List<int>();
                for (int u = 0; u < _unique.Length; u++)
                {
                    if (!_hit[u] && !_missing[u])
                    {
                        added.Add(_unique[u]);
                        at.Add(_firstPosition[u]);
                    }
                }
                cache.Add(CollectionsMarshal.AsSpan(added), CollectionsMarshal.AsSpan(at), destination);
            }
            for (int i = 0; i < _ids.Length; i++)
            {
                int first = _firstPosition[_uniqueOf[i]];
                if (first != i)
                    destination.Slice(first * dims, dims).CopyTo(destination.Slice(i * dims, dims));
            }
        }
    }
}
