using System.Numerics.Tensors;

namespace EmbedSharp.Tests;

/// <summary>The C# example in README.md, run as written; a second test keeps the two texts identical.</summary>
public sealed class ReadmeExampleTests
{
    [Fact]
    public void ReadmeExample_Runs()
    {
        // readme-example-begin
        using var embedding = new Embedding(numEmbeddings: 10_000, dims: 64,
            new EmbeddingOptions { PaddingIdx = 0, MaxNorm = 2f, Seed = 7 });

        // Any index shape in, [..., Dims] out.
        Tensor<float> vectors = embedding.Forward(Tensor.Create(new[] { 5, 17, 0, 42, 42, 9 }, [2, 3]));

        // The gradient comes back sparse: distinct rows, accumulated, in ascending order.
        float[] upstream = new float[6 * 64];
        upstream.AsSpan().Fill(0.01f);
        var grad = embedding.Backward(new[] { 5, 17, 0, 42, 42, 9 }, upstream);
        // grad.Rows is [5, 9, 17, 42]: the padding id 0 gets no gradient, and 42's two positions are summed.

        // Span overloads write into your buffers; the tied output head gives logits over the vocabulary.
        float[] query = new float[64];
        embedding.Forward(new[] { 5 }, query);
        float[] logits = new float[10_000];
        embedding.AsLinear(query, logits);
        // readme-example-end

        Assert.Equal(new nint[] { 2, 3, 64 }, vectors.Lengths.ToArray());
        Assert.Equal(new[] { 5, 9, 17, 42 }, grad.Rows.ToArray());
        Assert.Equal(0.02f, grad.GetRow(3)[0]);
        // Row 5 was looked up with MaxNorm 2, so its logit against itself is |v|² = 4 up to rounding: the renorm
        // scales to 2 / (norm + 1e-7), and the dot product's float sums may land a few ulps above 4 (the scalar
        // path, DOTNET_EnableHWIntrinsic=0, gives 4.00000048).
        Assert.InRange(logits[5], 3.999f, 4.0001f);
    }

    [Fact]
    public void ReadmeExample_MatchesTheReadme()
    {
        string readme = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "README.md"));
        string test = File.ReadAllText(Path.Combine(RepositoryRoot.Path, "tests", "EmbedSharp.Tests", "ReadmeExampleTests.cs"));

        int block = readme.IndexOf("<!-- readme-example:", StringComparison.Ordinal);
        int start = readme.IndexOf("```csharp\n", block, StringComparison.Ordinal) + "```csharp\n".Length;
        int end = readme.IndexOf("```", start, StringComparison.Ordinal);
        string[] readmeLines = readme[start..end].Split('\n')
            .Where(l => !(l.StartsWith("using ", StringComparison.Ordinal) && !l.Contains('='))).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();

        int b = test.IndexOf("// readme-example-begin", StringComparison.Ordinal);
        int e = test.IndexOf("// readme-example-end", StringComparison.Ordinal);
        string[] testLines = test[b..e].Split('\n').Skip(1).Select(l => l.Trim()).Where(l => l.Length > 0).ToArray();
        Assert.Equal(readmeLines, testLines);
    }
}
