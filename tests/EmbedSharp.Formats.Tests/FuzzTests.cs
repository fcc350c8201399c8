using System.Diagnostics;
using EmbedSharp.Numerics;
using Xunit.Abstractions;

namespace EmbedSharp.Formats.Tests;

/// <summary>
/// A seeded mutation fuzzer over every reader: valid seed files of all formats are mutated (bit
/// flips, interesting bytes and integers, truncation, chunk deletion and duplication) and fed to
/// each reader and the detector. The only acceptable outcomes are a successful read or an
/// <see cref="EmbeddingFormatException"/>: no other exception, no hang, no large allocation.
/// </summary>
public sealed class FuzzTests(ITestOutputHelper output)
{
    private const int Iterations = 1500;
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(2);

    public static TheoryData<string> Readers() => ["word2vec", "word2vec-binary", "glove", "fasttext-vec", "fasttext-bin", "npy"];

    private static readonly Lazy<(string Format, byte[] Bytes)[]> Seeds = new(() =>
        HostileFileTests.SmallFiles().Select(row => ((string)row[0], HostileFileTests.SeedBytes((string)row[0], (string)row[1]))).ToArray());

    [Theory]
    [MemberData(nameof(Readers))]
    public void Mutated_files_never_crash_a_reader(string name)
    {
        var format = FormatRegistry.Default.Get(name);
        var rng = new SeededRandom((ulong)name.GetHashCode(StringComparison.Ordinal) & 0xFFFF);
        var options = new[]
        {
            ReadOptions.Default,
            new ReadOptions { UnicodeErrors = UnicodeErrors.Replace, DuplicateWords = DuplicateWords.KeepFirst, NonFinite = NonFiniteValues.Allow },
            new ReadOptions { Limit = 3, UnicodeErrors = UnicodeErrors.Ignore },
        };
        var clock = Stopwatch.StartNew();
        int ok = 0, rejected = 0, i = 0;
        for (; i < Iterations && clock.Elapsed < Budget; i++)
        {
            // Mostly the reader's own format, so mutations get past the magic and header checks.
            var own = Seeds.Value.Where(x => x.Format == name).ToArray();
            var seed = rng.NextInt(4) != 0 ? own[rng.NextInt(own.Length)].Bytes : Seeds.Value[rng.NextInt(Seeds.Value.Length)].Bytes;
            var bytes = Mutate(seed, rng);
            long before = GC.GetAllocatedBytesForCurrentThread();
            try
            {
                Stream s = new MemoryStream(bytes);
                if (i % 4 == 3)
                    s = new ForwardOnlyStream(s);
                using (var emb = format.Read(s, options[i % options.Length], "fuzz"))
                    _ = emb.NumEmbeddings;
                ok++;
            }
            catch (EmbeddingFormatException)
            {
                rejected++;
            }
            catch (Exception e)
            {
                Assert.Fail($"{name} iteration {i}: {e.GetType().Name}: {e.Message}\ninput ({bytes.Length} bytes) base64: {Convert.ToBase64String(bytes.AsSpan(0, Math.Min(bytes.Length, 4096)))}");
            }
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < 64L << 20, $"{name} iteration {i}: allocated {allocated} bytes");
            _ = FormatDetector.Detect(bytes, bytes.Length, null);
        }
        output.WriteLine($"{name}: {i} mutated inputs in {clock.ElapsedMilliseconds} ms, {ok} read, {rejected} rejected cleanly");
        Assert.True(i >= 200, $"only {i} iterations ran within the budget");
    }

    private static readonly long[] InterestingInts = [0, 1, -1, 2, 255, 256, 65535, int.MaxValue, int.MinValue, 1L << 31, 1L << 40, long.MaxValue, long.MinValue, 0x7FFFFFF0];
    private static readonly byte[] InterestingBytes = [0x00, 0xFF, 0x7F, 0x80, 0xC3, (byte)' ', (byte)'\n', (byte)'\t', (byte)'-', (byte)'9', (byte)'e', (byte)'.'];

    internal static byte[] Mutate(byte[] seed, SeededRandom rng)
    {
        var b = new List<byte>(seed);
        int rounds = 1 + rng.NextInt(4);
        for (int r = 0; r < rounds && b.Count > 0; r++)
        {
            int at = rng.NextInt(b.Count);
            // Header fields sit near the start: aim there half the time.
            if (rng.NextInt(2) == 0)
                at = rng.NextInt(Math.Min(b.Count, 96));
            switch (rng.NextInt(7))
            {
                case 0:
                    b[at] ^= (byte)(1 << rng.NextInt(8));
                    break;
                case 1:
                    b[at] = InterestingBytes[rng.NextInt(InterestingBytes.Length)];
                    break;
                case 2:
                {
                    long v = InterestingInts[rng.NextInt(InterestingInts.Length)];
                    int width = rng.NextInt(2) == 0 ? 4 : 8;
                    for (int k = 0; k < width && at + k < b.Count; k++)
                        b[at + k] = (byte)(v >> (8 * k));
                    break;
                }
                case 3:
                    b.RemoveRange(at, b.Count - at);
                    break;
                case 4:
                    b.RemoveRange(at, Math.Min(b.Count - at, 1 + rng.NextInt(64)));
                    break;
                case 5:
                {
                    int len = Math.Min(b.Count - at, 1 + rng.NextInt(64));
                    b.InsertRange(at, b.GetRange(at, len));
                    break;
                }
                default:
                {
                    // Digits in text headers: replace one with a long run of nines.
                    b.InsertRange(at, Enumerable.Repeat((byte)'9', 1 + rng.NextInt(20)));
                    break;
                }
            }
        }
        return [.. b];
    }
}
