using MlNetTransfer.Engine.Health;
using MlNetTransfer.Engine.Training;
using MlNetTransfer.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace MlNetTransfer.Tests;

/// <summary>The data checks on features and pictures whose faults are known: flipped labels found with the class they
/// belong to, copies (as they are, resized, brightened) found with their originals and nothing else, an image far
/// from every class flagged.</summary>
public class DataHealthTests
{
    public DataHealthTests() => TorchRuntime.EnsureLoaded();

    /// <summary>Five clusters of 60 points in 32 dimensions, <paramref name="spread"/> apart (1: a linear classifier
    /// gets about 96 % of them, as on real images; 4: all), with one label in twenty moved to the next class.</summary>
    static (Tensor Features, Tensor Labels, HashSet<long> Flipped, long[] Truth) Clusters(double spread)
    {
        var generator = new Generator(5); // its own: xunit runs other classes that draw from torch's global one in parallel
        const int classes = 5, perClass = 60;
        var centres = randn(classes, 32, generator: generator).Times(spread);
        var truth = Enumerable.Range(0, classes * perClass).Select(i => (long)(i % classes)).ToArray();
        var features = centres.index_select(0, tensor(truth)).Plus(randn(truth.Length, 32, generator: generator));
        var given = truth.ToArray();
        var flipped = new HashSet<long>();
        for (int k = 0; k < given.Length / 20; k++)
        {
            int i = 20 * k + k % classes; // three of each class's sixty
            given[i] = (given[i] + 1) % classes;
            flipped.Add(i);
        }
        return (features, tensor(given), flipped, truth);
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(4.0)]
    public void Flipped_labels_are_found_out_of_fold_with_the_class_they_belong_to(double spread)
    {
        var (features, labels, flipped, truth) = Clusters(spread);
        using var outOfFold = LabelErrors.OutOfFold(features, labels, 5, l2: 0.01, folds: 5, seed: 1);
        using var neighbours = NearestNeighbours.Of(features, LabelErrors.Neighbours);
        using var votes = LabelErrors.Votes(neighbours, labels, 5);
        using var both = outOfFold.Plus(votes).DividedBy(2);

        var found = LabelErrors.Find(both, labels);

        int right = found.Count(i => flipped.Contains(i.Row));
        Assert.True(right >= 0.8 * flipped.Count, $"recall: {right} of the {flipped.Count} flipped labels");
        Assert.True(right >= 0.8 * found.Count, $"precision: {right} of the {found.Count} flagged");
        Assert.All(found.Where(i => flipped.Contains(i.Row)), i => Assert.Equal((int)truth[i.Row], i.Suggested!.Value));
        Assert.All(found, i => Assert.Equal(DataIssueKind.LabelError, i.Kind));
        Assert.True(found.Zip(found.Skip(1)).All(p => p.First.Score >= p.Second.Score), "surest first");
        features.Dispose();
        labels.Dispose();
    }

    [Fact]
    public void Neighbour_votes_computed_block_by_block_once_per_pair_are_the_votes_of_the_whole_similarity_matrix()
    {
        var (features, labels, _, _) = Clusters(1.0); // 300 images: with blocks of 64, five blocks and a short one merge
        using var neighbours = NearestNeighbours.Of(features, 10, block: 64);
        using var votes = LabelErrors.Votes(neighbours, labels, 5);

        // the same from the whole matrix: each image's ten most similar others, their class shares
        using var unit = nn.functional.normalize(features, dim: 1);
        using var similarity = unit.matmul(unit.t());
        using (var itself = (-2f).ToScalar()) similarity.index_put_(itself, [HeldScalars.Range(0, 300), HeldScalars.Range(0, 300)]);
        using var nearest = similarity.topk(10, 1).indexes;
        using var expected = nn.functional.one_hot(labels.index_select(0, nearest.reshape(-1)).reshape(300, 10), 5).to_type(ScalarType.Float64).mean([1]);

        Assert.Equal(expected.data<double>().ToArray(), votes.data<double>().ToArray());
        features.Dispose();
        labels.Dispose();
    }

    [Fact]
    public void Copies_read_from_the_shared_neighbour_table_are_those_a_search_of_every_earlier_image_finds()
    {
        var (features, labels, _, _) = Clusters(4.0);
        using var prints = nn.functional.normalize(randn(300, 16, generator: new Generator(6)), dim: 1);
        foreach (var (copy, original) in new[] { (40L, 3L), (90L, 41L) })
        {
            features[copy] = features[original].clone();
            prints[copy] = prints[original].clone();
        }
        // a near copy of image 5 by its features alone (its own print), with sixteen exact copies of it later: its ten
        // nearest are all later, so the copy it is of must be searched for; each later one's earliest is image 100
        using (var little = 0.3.ToScalar()) features[100] = features[5].add(randn(32, generator: new Generator(7)), little);
        for (long i = 200; i < 216; i++)
        {
            features[i] = features[100].clone();
            prints[i] = prints[100].clone();
        }
        using var neighbours = NearestNeighbours.Of(features, LabelErrors.Neighbours, block: 64);

        var searched = NearCopies.Within(features, prints, labels);
        var read = NearCopies.Within(features, prints, labels, neighbours);

        Assert.Equal(19, searched.Count);
        Assert.Equal(searched.Select(c => (c.Row, c.Other, c.Kind)), read.Select(c => (c.Row, c.Other, c.Kind)));
        Assert.Equal(5, read.Single(c => c.Row == 100).Other);
        Assert.All(read.Where(c => c.Row >= 200), c => Assert.Equal(100, c.Other));
        Assert.All(searched.Zip(read), p => Assert.Equal(p.First.Score, p.Second.Score, 1e-6));
        features.Dispose();
        labels.Dispose();
    }

    [Fact]
    public void Training_images_distances_read_from_the_shared_neighbour_table_are_those_a_search_of_the_whole_square_finds()
    {
        var (features, labels, _, _) = Clusters(4.0); // 300 images, with exact copies: an image's 5th nearest may be a copy's twin
        for (long i = 250; i < 262; i++) features[i] = features[7].clone();
        using var neighbours = NearestNeighbours.Of(features, LabelErrors.Neighbours, block: 64);
        using var unit = Outliers.Normalized(features);
        var searched = Outliers.KthNearest(unit, unit, Outliers.Neighbours + 1); // each image its own nearest
        using var fifth = neighbours.Similarities.select(1, Outliers.Neighbours - 1);
        var read = fifth.data<float>().ToArray().Select(s => 1.0 - s).ToArray();
        Assert.All(searched.Zip(read), p => Assert.Equal(p.First, p.Second, 1e-6));
        Assert.Contains(searched, d => d < 1e-6); // the copies' fifth nearest is a copy
        features.Dispose();
        labels.Dispose();
    }

    [Fact]
    public void Copies_as_they_are_recontrasted_and_with_noise_are_found_with_their_originals_and_distinct_images_are_not()
    {
        using var originals = SampleImages.Load("test", 28); // 100 different garments
        using var all = originals.ReadAll();
        // rows 100..102: a copy of row 3, of row 40 with noise of a few grey levels (as a re-encoding leaves), of row 77
        // with more contrast (resized copies are the benchmark's: the decoder resizes both to the training side)
        using var noisy = all[40].unsqueeze(0).to_type(ScalarType.Float32).Plus(randint(-4, 5, [1, 3, 28, 28], generator: new Generator(2)))
            .Clamped(0, 255).to_type(ScalarType.Byte);
        using var brighter = all[77].unsqueeze(0).to_type(ScalarType.Float32).Times(1.15).Plus(5).Clamped(0, 255).to_type(ScalarType.Byte);
        using var images = cat([all, all[3].unsqueeze(0), noisy, brighter], 0);
        using var labels = cat([originals.Labels, originals.Labels.index_select(0, tensor(new long[] { 3, 40, 77 }))], 0);
        using var set = new ImageTensorDataset(images, labels, originals.ClassNames);
        using var prints = PerceptualPrint.Of(set);
        // features that know nothing of the copies: the prints must carry them (the features only agree)
        using var features = prints.clone();

        var found = NearCopies.Within(features, prints, labels);

        Assert.Equal(new long[] { 100, 101, 102 }, found.Select(i => i.Row).Order());
        Assert.Equal(new long?[] { 3, 40, 77 }, found.OrderBy(i => i.Row).Select(i => i.Other));
        Assert.All(found, i => Assert.Equal(DataIssueKind.Duplicate, i.Kind));
        using var test = images.narrow(0, 100, 3);
        using var testSet = new ImageTensorDataset(test, labels.narrow(0, 100, 3), originals.ClassNames);
        using var testPrints = PerceptualPrint.Of(testSet);
        using var trainPrints = prints.narrow(0, 0, 100);
        var leaks = NearCopies.Between(testPrints, testPrints, labels.narrow(0, 100, 3), trainPrints, trainPrints);
        Assert.Equal(new long?[] { 3, 40, 77 }, leaks.OrderBy(i => i.Row).Select(i => i.Other));
    }

    [Fact]
    public void An_image_far_from_every_class_is_an_outlier_and_the_clusters_are_not()
    {
        var (features, labels, _, _) = Clusters(4);
        using var odd = randn(1, 32, generator: new Generator(6)).Times(40);
        using var withOdd = cat([features, odd], 0);
        using var oddLabels = cat([labels, tensor(new long[] { 2 })], 0);

        var found = Outliers.Find(withOdd, oddLabels, 5);

        Assert.Equal(new long[] { 300 }, found.Select(i => i.Row));
        Assert.Empty(Outliers.Find(features, labels, 5));
        features.Dispose();
        labels.Dispose();
    }

    [Fact]
    public void Test_images_far_from_every_training_image_are_unfamiliar_and_new_draws_of_the_same_clusters_are_not()
    {
        var (features, labels, _, truth) = Clusters(4);
        var generator = new Generator(7);
        using var centres = stack(Enumerable.Range(0, 5).Select(c => features.index_select(0, tensor(truth.Select((t, i) => (t, i)).Where(p => p.t == c).Select(p => (long)p.i).ToArray())).mean([0])));
        using var sameClusters = centres.index_select(0, tensor(Enumerable.Range(0, 20).Select(i => (long)(i % 5)).ToArray()))
            .Plus(randn(20, 32, generator: generator)); // fresh draws from the same clusters
        using var foreign = randn(3, 32, generator: generator).Times(40); // another kind of picture altogether
        using var test = cat([sameClusters, foreign], 0);
        using var testLabels = tensor(Enumerable.Range(0, 23).Select(i => (long)(i % 5)).ToArray());

        using var neighbours = DataExamination.Neighbours(features);
        var found = Outliers.Between(test, testLabels, features, neighbours);

        Assert.Equal(new long[] { 20, 21, 22 }, found.Select(i => i.Row).Order());
        Assert.All(found, i => Assert.Equal(DataIssueKind.Unfamiliar, i.Kind));
        Assert.All(found, i => Assert.True(i.OnTestImage));
        using var one = features.narrow(0, 0, 1);
        using var oneNeighbours = DataExamination.Neighbours(one);
        Assert.Empty(Outliers.Between(test, testLabels, one, oneNeighbours)); // one training image: nothing to measure a spread on
        var wrongTable = Assert.Throws<ArgumentException>(() => Outliers.Between(test, testLabels, features, oneNeighbours));
        Assert.Contains("neighbour table", wrongTable.Message);
        features.Dispose();
        labels.Dispose();
    }

    /// <summary>Test images against <paramref name="train"/> (three clusters along the first axes): 150 fresh draws of
    /// its clusters, then 5 of a cluster it lacks; what <see cref="Outliers.Between"/> flags.</summary>
    static IReadOnlyList<DataIssue> UnfamiliarAmongFreshAndForeign(Tensor train, Generator generator)
    {
        using var known = eye(16).narrow(0, 0, 3).contiguous();
        using var fresh = known.repeat_interleave(50, 0).Plus(randn(150, 16, generator: generator).Times(0.15));
        using var foreign = eye(16).narrow(0, 8, 1).repeat(5, 1).Plus(randn(5, 16, generator: generator).Times(0.15));
        using var test = cat([fresh, foreign], 0);
        using var testLabels = zeros(155, dtype: ScalarType.Int64);
        using var neighbours = DataExamination.Neighbours(train);
        var found = Outliers.Between(test, testLabels, train, neighbours);
        Assert.True(found.Count(i => i.Row < 150) <= 15, $"{found.Count(i => i.Row < 150)} of 150 fresh draws of the training clusters flagged");
        Assert.Equal(new long[] { 150, 151, 152, 153, 154 }, found.Where(i => i.Row >= 150).Select(i => (long)i.Row).Order());
        return found;
    }

    [Fact]
    public void Near_copies_in_the_training_images_do_not_make_fresh_test_images_unfamiliar()
    {
        using var known = eye(16).narrow(0, 0, 3).contiguous();
        using var train = FamiliarityTests.WithNearCopies(known, 2); // two thirds of the images copies of each other
        using var generator = new Generator(9);
        UnfamiliarAmongFreshAndForeign(train, generator);
    }

    [Fact]
    public void Training_images_mostly_exact_copies_still_let_foreign_test_images_be_unfamiliar()
    {
        // two thirds of the training images have 40 identical twins: their distances are exactly 0, no robust deviation
        using var known = eye(16).narrow(0, 0, 3).contiguous();
        using var generator = new Generator(11);
        using var train = cat([known.repeat_interleave(40, 0), known.repeat_interleave(20, 0).Plus(randn(60, 16, generator: generator).Times(0.15))], 0);

        var found = UnfamiliarAmongFreshAndForeign(train, generator);

        Assert.All(found, i => Assert.True(double.IsFinite(i.Score) && i.Score > 0, $"score {i.Score}"));
    }
}
