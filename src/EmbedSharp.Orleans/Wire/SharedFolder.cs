namespace EmbedSharp.Orleans.Wire;

/// <summary>Atomic file writes in the shared snapshot folder: a temporary file beside the target, flushed to disk, then renamed.</summary>
internal static class SharedFolder
{
    public static async Task<T> WriteAtomicAsync<T>(string path, Func<Stream, T> write)
    {
        string temp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            T result;
            await using (var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, FileOptions.Asynchronous))
            {
                result = write(stream);
                await stream.FlushAsync().ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temp, path, overwrite: true);
            return result;
        }
        catch
        {
            File.Delete(temp);
            throw;
        }
    }

    public static Task WriteAtomicAsync(string path, Action<Stream> write) =>
        WriteAtomicAsync<bool>(path, s =>
        {
            write(s);
            return true;
        });
}
