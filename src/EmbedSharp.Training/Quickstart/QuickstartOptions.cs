using EmbedSharp.Training.Common;

namespace EmbedSharp.Training.Quickstart;

/// <summary>
/// What <see cref="QuickstartWorkflow.Run"/> trains on and how: a corpus, the two word test sets
/// (Mikolov's analogy questions and a word-pair similarity set such as WS-353), and the training knobs.
/// </summary>
public sealed record QuickstartOptions
{
    /// <summary>The text to train on.</summary>
    public required TextCorpus Corpus { get; init; }

    /// <summary>Opens the analogy questions (<c>questions-words.txt</c> form); a new stream on every call.</summary>
    public required Func<Stream> Analogies { get; init; }

    /// <summary>Opens the word pairs with human scores (WS-353 form); a new stream on every call.</summary>
    public required Func<Stream> WordPairs { get; init; }

    /// <summary>Vector size: a multiple of 32, since MLX quantizes in groups of 32 or 64. Default 128.</summary>
    public int Dims { get; init; } = 128;

    /// <summary>Training epochs. Default 5.</summary>
    public int Epochs { get; init; } = 5;

    /// <summary>Training threads. Default: the machine's core count.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Random seed. Default 1.</summary>
    public ulong Seed { get; init; } = 1;

    /// <summary>Receives the trainer's progress reports (optional).</summary>
    public IProgress<TrainingProgress>? Progress { get; init; }
}
