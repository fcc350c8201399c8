using System.Globalization;
using EmbedSharp.Formats.Word2Vec;
using EmbedSharp.Search;

/// <summary>
/// Scores a vector file with the library's own evaluation (KeyedVectors.EvaluateWordAnalogies and
/// EvaluateWordPairs, gensim's definitions): analogies by 3CosAdd over the whole vocabulary of the file
/// (every word with count ≥ 5), case-insensitive, OOV questions skipped; Spearman over covered pairs.
/// </summary>
static class Evaluation
{
    private static readonly string[] PairFiles =
        ["wordsim353.tsv", "EN-MEN-TR-3k.txt", "EN-RW-STANFORD.txt", "EN-MTurk-771.txt", "EN-RG-65.txt"];

    public static void Run(string vecPath, string analogyPath, string similarityDir)
    {
        using var embeddings = Word2VecFormat.Text.Read(vecPath);
        using var kv = embeddings.ToKeyedVectors();
        using (var questions = File.OpenRead(analogyPath))
        {
            var a = kv.EvaluateWordAnalogies(questions, restrictVocab: kv.Count, caseInsensitive: true);
            int covered = a.Questions - a.OutOfVocabulary;
            double semantic = Section(a, s => !s.StartsWith("gram", StringComparison.Ordinal));
            double syntactic = Section(a, s => s.StartsWith("gram", StringComparison.Ordinal));
            Console.WriteLine(FormattableString.Invariant(
                $"analogy={a.Score:F4} covered={covered} semantic={semantic:F4} syntactic={syntactic:F4} over_all={a.Score * covered / Math.Max(1, a.Questions):F4}"));
        }
        foreach (string name in PairFiles)
        {
            string path = Path.Combine(similarityDir, name);
            if (!File.Exists(path))
                continue;
            using var s = File.OpenRead(path);
            var p = kv.EvaluateWordPairs(s, '\t', restrictVocab: kv.Count, caseInsensitive: true);
            Console.WriteLine(FormattableString.Invariant($"pairs file={name} spearman={p.Spearman:F4} pairs={p.Pairs} oov={p.OutOfVocabulary}"));
        }
    }

    private static double Section(AnalogyEvaluation a, Func<string, bool> pick)
    {
        int correct = 0, total = 0;
        foreach (var s in a.Sections)
        {
            if (s.Name == "Total accuracy" || !pick(s.Name))
                continue;
            correct += s.Correct.Count;
            total += s.Correct.Count + s.Incorrect.Count;
        }
        return total == 0 ? 0 : (double)correct / total;
    }
}
