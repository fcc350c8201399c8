namespace EmbedSharp.Redis;

/// <summary>
/// Redis could not serve a request: unreachable nodes, a timeout, slots without a master, or data this library did
/// not write. The message reads <c>[op] what failed; what to do</c>; the Redis client's own exception is inner.
/// </summary>
public sealed class RedisStoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RedisStoreException(string message, Exception? inner = null) : base(message, inner)
    {
    }
}
