from django.views.generic import DetailView, ListView

from .models import Article


class ArticleListView(ListView):
    paginate_by = 25

    def get_queryset(self):
        return Article.objects.published().for_listing()


class ArticleDetailView(DetailView):
    slug_field = "key"
    slug_url_kwarg = "key"

    def get_queryset(self):
        return Article.objects.published().with_document()
