using Orleans.Runtime;

namespace EmbedSharp.Orleans.Tests;

/// <summary>Which failed tries the Orleans store retries within its budget, and which it reports at once.</summary>
public sealed class RetryPolicyTests
{
    [Fact]
    public void ACancellationFromTheCluster_IsRetried_TheCallersOwnIsNot()
    {
        // The distributed grain directory cancels a lookup in flight when a silo is declared dead; the caller asked for nothing.
        var remote = new OperationCanceledException("The operation was canceled.");
        Assert.True(OrleansEmbeddingStore.IsTransient(remote, CancellationToken.None));

        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.False(OrleansEmbeddingStore.IsTransient(new OperationCanceledException(cts.Token), cts.Token));
        Assert.False(OrleansEmbeddingStore.IsTransient(new TaskCanceledException(), cts.Token));
    }

    [Fact]
    public void LostSilosAndTimeoutsAreRetried_ErrorsInTheRequestAreNot()
    {
        Assert.True(OrleansEmbeddingStore.IsTransient(new TimeoutException(), CancellationToken.None));
        Assert.True(OrleansEmbeddingStore.IsTransient(new SiloUnavailableException(), CancellationToken.None));
        Assert.False(OrleansEmbeddingStore.IsTransient(new ArgumentOutOfRangeException("ids"), CancellationToken.None));
        Assert.False(OrleansEmbeddingStore.IsTransient(new InvalidOperationException("bad state"), CancellationToken.None));
        Assert.False(OrleansEmbeddingStore.IsTransient(new OrleansConfigurationException("bad config"), CancellationToken.None));
    }
}
