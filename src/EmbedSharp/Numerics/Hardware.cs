using System.Runtime.Intrinsics.X86;

namespace EmbedSharp.Numerics;

/// <summary>What the kernels need to know about the machine's caches, read once.</summary>
internal static class Hardware
{
    /// <summary>Assumed last-level cache when the system does not say (a common server L3 slice).</summary>
    private const long DefaultLastLevelCacheBytes = 32L << 20;

    private static readonly Lazy<long> s_lastLevelCache = new(ReadLastLevelCache);

    /// <summary>
    /// Bytes of the largest data or unified cache, as the processor reports it (x86 <c>cpuid</c>: leaf 4 on
    /// Intel, 0x8000001D or 0x80000006 on AMD); 32 MiB where it cannot be asked.
    /// </summary>
    public static long LastLevelCacheBytes => s_lastLevelCache.Value;

    /// <summary>
    /// Output bytes from which a gather writes with streaming stores: the last-level cache, but at most
    /// <see cref="StreamingStoreCapBytes"/>. Measured on an AMD EPYC (32 MiB L3), gathering 65,536 rows of 128
    /// floats (a 32 MiB output): 21.5 against 15.8 GB/s with uniform ids and 41 against 27 with Zipf ids on one core;
    /// a 201 MB output 74 against 34 GB/s of plain writes on two cores.
    /// </summary>
    /// <remarks>
    /// The cap: a virtual machine on an Intel Xeon reports its host's whole L3 (260 MiB, "shared by 2 threads"), of
    /// which two vCPUs see a small share, so "the output fits the last-level cache" chose ordinary stores for a 201 MB
    /// output. There, with AVX2, streaming stores were faster from 4 MiB up: 1.7× (one thread) and 1.6× (two) for a
    /// 4 MiB output of 128-float rows, 1.8–2.9× for 32 MiB and 201 MB outputs; at 1 MiB they won on one thread and
    /// lost on two (issue 19; benchmarks/README.md).
    /// </remarks>
    public static long StreamingStoreThresholdBytes => Math.Min(LastLevelCacheBytes, StreamingStoreCapBytes);

    /// <summary>The largest output size below which a gather keeps ordinary stores (8 MiB): see <see cref="StreamingStoreThresholdBytes"/>.</summary>
    public const long StreamingStoreCapBytes = 8L << 20;

    private static long ReadLastLevelCache()
    {
        if (!X86Base.IsSupported)
            return DefaultLastLevelCacheBytes;
        (int maxLeaf, int vendorB, int vendorC, int vendorD) = X86Base.CpuId(0, 0);
        bool amd = vendorB == 0x68747541 && vendorD == 0x69746E65 && vendorC == 0x444D4163; // "AuthenticAMD"
        int maxExtended = X86Base.CpuId(unchecked((int)0x80000000), 0).Eax;
        long best = 0;
        if (amd && (uint)maxExtended >= 0x8000001D)
            best = DeterministicCaches(unchecked((int)0x8000001D));
        else if (!amd && maxLeaf >= 4)
            best = DeterministicCaches(4);
        if (best == 0 && amd && (uint)maxExtended >= 0x80000006)
            best = (long)((uint)X86Base.CpuId(unchecked((int)0x80000006), 0).Edx >> 18) * (512L << 10); // L3 in 512 KiB units
        return best > 0 ? best : DefaultLastLevelCacheBytes;
    }

    /// <summary>The largest data or unified cache listed by a "deterministic cache parameters" leaf (0 if none).</summary>
    private static long DeterministicCaches(int leaf)
    {
        long best = 0;
        for (int sub = 0; sub < 16; sub++)
        {
            (int eax, int ebx, int ecx, _) = X86Base.CpuId(leaf, sub);
            int type = eax & 0x1F; // 0: no more caches, 1: data, 2: instruction, 3: unified
            if (type == 0)
                break;
            if (type == 2)
                continue;
            best = Math.Max(best, CacheBytes(ebx, ecx));
        }
        return best;
    }

    /// <summary>ways × partitions × line size × sets, from EBX and ECX of a cache-parameters leaf.</summary>
    internal static long CacheBytes(int ebx, int ecx)
    {
        long ways = ((uint)ebx >> 22) + 1, partitions = (((uint)ebx >> 12) & 0x3FF) + 1, line = (ebx & 0xFFF) + 1;
        long sets = (long)(uint)ecx + 1;
        return ways * partitions * line * sets;
    }
}
