using System.Runtime.InteropServices;

namespace EmbedSharp.Tables;

/// <summary>
/// Native memory for tables. Small tables get 64-byte (cache-line) alignment. Tables of 2 MiB or
/// more are 2 MiB-aligned and, on Linux, advised to use transparent huge pages
/// (<c>madvise(MADV_HUGEPAGE)</c>): random row gathers over a large table miss the TLB on almost
/// every row with 4 KiB pages, and measure about 25 % faster from 2 MiB pages on our 2-core machine.
/// The advice is best effort: any failure (another OS, THP disabled, a sandbox) is ignored.
/// </summary>
internal static unsafe partial class NativeAllocation
{
    public const int CacheLine = 64;
    public const nuint HugePage = 2 * 1024 * 1024;
    private const int MadvHugePage = 14;

    /// <summary>Allocates <paramref name="bytes"/> zeroed bytes; returns the pointer and the size actually reserved.</summary>
    public static byte* AllocateZeroed(nuint bytes, out nuint reserved)
    {
        byte* p = AllocateUninitialized(bytes, out reserved);
        // Zeroing after the advice means the first touch of each 2 MiB region can fault in a huge page.
        NativeMemory.Clear(p, reserved);
        return p;
    }

    /// <summary>
    /// Reserves <paramref name="bytes"/> bytes, aligned and advised as <see cref="AllocateZeroed"/>, without
    /// touching them: the contents are undefined, and the kernel backs pages only where they are written.
    /// <paramref name="reserved"/> is the size actually reserved. Free with <see cref="NativeMemory.AlignedFree"/>.
    /// </summary>
    public static byte* AllocateUninitialized(nuint bytes, out nuint reserved)
    {
        bool huge = bytes >= HugePage;
        nuint alignment = huge ? HugePage : CacheLine;
        reserved = huge ? (bytes + HugePage - 1) & ~(HugePage - 1) : Math.Max(bytes, CacheLine);
        byte* p = (byte*)NativeMemory.AlignedAlloc(reserved, alignment);
        if (huge)
            AdviseHugePages(p, reserved);
        return p;
    }

    /// <summary>
    /// Publishes an uninitialised segment of <paramref name="bytes"/> into <paramref name="slot"/> once: the first
    /// thread's allocation wins, a racing one frees its own, and the winner tells the GC about the memory.
    /// </summary>
    public static void EnsureSegment(ref nint slot, nuint bytes)
    {
        if (System.Threading.Volatile.Read(ref slot) != 0)
            return;
        nint fresh = (nint)AllocateUninitialized(bytes, out _);
        if (System.Threading.Interlocked.CompareExchange(ref slot, fresh, 0) != 0)
        {
            NativeMemory.AlignedFree((void*)fresh);
            return;
        }
        GC.AddMemoryPressure((long)bytes);
    }

    private static bool s_adviceUnavailable;

    private static void AdviseHugePages(byte* p, nuint length)
    {
        if (s_adviceUnavailable || !OperatingSystem.IsLinux())
            return;
        try
        {
            _ = Madvise(p, length, MadvHugePage);
        }
        catch (Exception ex) when (ex is DllNotFoundException or EntryPointNotFoundException)
        {
            s_adviceUnavailable = true;
        }
    }

    private const int MadvCollapse = 25;

    /// <summary>Arrays of at least this many bytes are also backed by huge pages (<see cref="AlignedArray{T}.CopyOf"/>).</summary>
    internal const long HugeArrayBytes = 2 * (long)HugePage;

    /// <summary>
    /// Advises the 2 MiB-aligned interior of <c>[p, p + bytes)</c> to use huge pages before
    /// <paramref name="fill"/> first touches it, then asks Linux to collapse what the runtime had
    /// already touched (<c>MADV_COLLAPSE</c>, best effort).
    /// </summary>
    internal static void FillWithHugePages(byte* p, nuint bytes, Action fill)
    {
        nuint start = ((nuint)p + HugePage - 1) & ~(HugePage - 1);
        nuint end = ((nuint)p + bytes) & ~(HugePage - 1);
        bool advise = (long)bytes >= HugeArrayBytes && end > start && OperatingSystem.IsLinux() && !s_adviceUnavailable;
        if (advise)
            AdviseHugePages((byte*)start, end - start);
        fill();
        if (advise && !s_adviceUnavailable)
            _ = Madvise((byte*)start, end - start, MadvCollapse);
    }

    [LibraryImport("libc", EntryPoint = "madvise")]
    private static partial int Madvise(void* address, nuint length, int advice);
}
