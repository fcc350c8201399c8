using System.Security.Cryptography;
using EmbedSharp.Tables;

namespace EmbedSharp.Formats.Tests;

/// <summary>Paths to fixtures and scratch files.</summary>
internal static class TestFiles
{
    private static readonly Lazy<string> Root = new(() =>
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "EmbedSharp.slnx")))
            dir = dir.Parent;
        return dir?.FullName ?? throw new DirectoryNotFoundException("cannot find the repository root (EmbedSharp.slnx) above " + AppContext.BaseDirectory);
    });

    /// <summary><c>../shared/data</c> beside the repository (or <c>$EMBEDSHARP_DATA_DIR</c>).</summary>
    public static string SharedData =>
        Environment.GetEnvironmentVariable("EMBEDSHARP_DATA_DIR") is { Length: > 0 } env
            ? env
            : Path.GetFullPath(Path.Combine(Root.Value, "..", "shared", "data"));

    /// <summary>A shared fixture; a missing file fails with the path it looked for.</summary>
    public static string Shared(params string[] parts)
    {
        string p = Path.Combine([SharedData, .. parts]);
        if (!File.Exists(p))
            throw new FileNotFoundException($"shared fixture not found: {p} (set EMBEDSHARP_DATA_DIR)", p);
        return p;
    }

    /// <summary>A file under <c>tests/Data</c>.</summary>
    public static string Data(params string[] parts) => Path.Combine([Root.Value, "tests", "Data", .. parts]);

    public static string Sha256(ReadOnlySpan<byte> bytes) => Convert.ToHexString(SHA256.HashData(bytes)).ToLowerInvariant();

    public static string VectorsSha256(EmbeddingTable t)
    {
        Assert.Equal(DType.Float32, t.DType);
        return Sha256(t.AsBytes());
    }
}

/// <summary>A fresh temporary directory deleted on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path);

    public string Path { get; } = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "embedsharp-formats-" + Guid.NewGuid().ToString("N")[..10]);

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

/// <summary>A read-only, forward-only view of a stream (no Length, no Seek), like a pipe or network stream.</summary>
internal sealed class ForwardOnlyStream(Stream inner) : Stream
{
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, Math.Min(count, 777));
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
