namespace EmbedSharp.Search;

/// <summary>One analogy question <c>A : B :: C : Expected</c> (upper-cased when evaluated case-insensitively, as gensim stores them).</summary>
public readonly record struct AnalogyQuestion(string A, string B, string C, string Expected);

/// <summary>The questions of one section that were answered correctly and incorrectly.</summary>
/// <param name="Name">Section name (<c>capital-common-countries</c>, ..., or <c>Total accuracy</c>).</param>
/// <param name="Correct">Questions answered right.</param>
/// <param name="Incorrect">Questions answered wrong (and, with dummy4unknown, those with an unknown word).</param>
public sealed record AnalogySection(string Name, IReadOnlyList<AnalogyQuestion> Correct, IReadOnlyList<AnalogyQuestion> Incorrect)
{
    /// <summary><c>correct / (correct + incorrect)</c>, or 0 for a section with no evaluated questions (gensim's convention).</summary>
    public double Accuracy => Correct.Count + Incorrect.Count == 0 ? 0.0 : (double)Correct.Count / (Correct.Count + Incorrect.Count);
}

/// <summary>What gensim's <c>evaluate_word_analogies</c> reports.</summary>
/// <param name="Score">Accuracy over all evaluated questions (the first value gensim returns).</param>
/// <param name="Sections">Each section, then a last one named <c>Total accuracy</c> (the second value gensim returns).</param>
/// <param name="Questions">Well-formed question lines read.</param>
/// <param name="OutOfVocabulary">Questions with a word outside the first restrictVocab words.</param>
public sealed record AnalogyEvaluation(double Score, IReadOnlyList<AnalogySection> Sections, int Questions, int OutOfVocabulary)
{
    /// <summary>Percentage of questions with an unknown word (gensim logs it).</summary>
    public double OovRatio => Questions == 0 ? 0.0 : 100.0 * OutOfVocabulary / Questions;
}

/// <summary>What gensim's <c>evaluate_word_pairs</c> reports.</summary>
/// <param name="Pearson">Pearson's r between the human scores and the cosine similarities.</param>
/// <param name="PearsonPValue">Its two-sided p-value.</param>
/// <param name="Spearman">Spearman's ρ.</param>
/// <param name="SpearmanPValue">Its two-sided p-value.</param>
/// <param name="OovRatio">Percentage of pairs with an unknown word.</param>
/// <param name="Pairs">Pairs that entered the correlation.</param>
/// <param name="OutOfVocabulary">Pairs with an unknown word.</param>
public sealed record WordPairsEvaluation(double Pearson, double PearsonPValue, double Spearman, double SpearmanPValue, double OovRatio, int Pairs, int OutOfVocabulary);
